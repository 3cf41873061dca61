// CodeMirror 6 with Python highlighting; a server-reported error is shown at its line.
import { useEffect, useLayoutEffect, useRef } from "react";
import { EditorView, basicSetup } from "codemirror";
import { python } from "@codemirror/lang-python";
import { EditorState } from "@codemirror/state";
import { lintGutter, setDiagnostics, type Diagnostic } from "@codemirror/lint";

export interface CodeProblem {
  line: number;
  column?: number | null;
  message: string;
}

/** The document range a 1-based line/column points at (clamped to the document). */
export function problemRange(doc: string, line: number, column?: number | null): { from: number; to: number } {
  const lines = doc.split("\n");
  const n = Math.min(Math.max(1, line), lines.length);
  let from = 0;
  for (let i = 0; i < n - 1; i++) from += lines[i].length + 1;
  const text = lines[n - 1];
  const col = column && column > 0 ? Math.min(column - 1, text.length) : 0;
  const to = from + text.length;
  return { from: Math.min(from + col, to), to: Math.max(to, from + col) };
}

export default function CodeEditor({
  value,
  onChange,
  problem,
  readOnly,
  label = "Test code",
}: {
  value: string;
  onChange?: (v: string) => void;
  problem?: CodeProblem | null;
  readOnly?: boolean;
  label?: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const change = useRef(onChange);
  useLayoutEffect(() => {
    change.current = onChange;
  });

  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          basicSetup,
          python(),
          lintGutter(),
          EditorState.readOnly.of(!!readOnly),
          EditorView.contentAttributes.of({ "aria-label": label }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) change.current?.(u.state.doc.toString());
          }),
          EditorView.theme({ "&": { fontSize: "13px" }, ".cm-scroller": { minHeight: "260px" } }),
        ],
      }),
    });
    view.current = v;
    return () => v.destroy();
    // The editor owns its document after creation; external resets go through the effect below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [readOnly, label]);

  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) {
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
    }
  }, [value]);

  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const diagnostics: Diagnostic[] = [];
    if (problem) {
      const { from, to } = problemRange(v.state.doc.toString(), problem.line, problem.column);
      diagnostics.push({ from, to, severity: "error", message: problem.message });
      v.dispatch({ selection: { anchor: from }, scrollIntoView: true });
    }
    v.dispatch(setDiagnostics(v.state, diagnostics));
  }, [problem]);

  return <div className="code-editor" ref={host} />;
}
