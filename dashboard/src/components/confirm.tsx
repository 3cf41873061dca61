import type { ReactNode } from "react";
import { Modal } from "./ui";

/**
 * Ask before a destructive or disruptive action. `onConfirm` runs only on the
 * confirming button; Cancel, Escape and the backdrop leave everything as it was.
 */
export function ConfirmDialog({
  title,
  children,
  confirm,
  onConfirm,
  onCancel,
  busy,
  danger = true,
}: {
  title: string;
  children: ReactNode;
  confirm: string;
  onConfirm: () => void;
  onCancel: () => void;
  busy?: boolean;
  danger?: boolean;
}) {
  return (
    <Modal title={title} onClose={onCancel}>
      <div className="form">
        <div>{children}</div>
        <div className="actions">
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="button" className={danger ? "danger" : "primary"} onClick={onConfirm} disabled={busy}>
            {confirm}
          </button>
        </div>
      </div>
    </Modal>
  );
}
