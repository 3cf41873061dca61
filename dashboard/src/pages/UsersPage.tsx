import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { get, patch, post } from "../api/client";
import type { PasswordResetDone, Role, User } from "../api/types";
import { useSession } from "../auth/session";
import { ConfirmDialog } from "../components/confirm";
import { ErrorNote, Modal } from "../components/ui";

/** An admin sets another user's password: one typed here, or one generated and shown once. */
function ResetPassword({ user, onClose }: { user: User; onClose: () => void }) {
  const [how, setHow] = useState<"generate" | "set">("generate");
  const [password, setPassword] = useState("");
  const [copied, setCopied] = useState(false);
  const reset = useMutation({
    mutationFn: () =>
      post<PasswordResetDone>(`/users/${user.id}/password`, how === "set" ? { password } : {}),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    reset.mutate();
  };
  const done = reset.data;
  return (
    <Modal title={`Reset the password of ${user.username}`} onClose={onClose}>
      {done ? (
        <div className="form">
          {done.password ? (
            <div className="note note-ok token-once" role="status" aria-label="New password">
              <div>
                New password of <strong>{user.username}</strong>. Copy it now and give it to them: it is not shown again.
              </div>
              <code className="secret">{done.password}</code>
              <button
                type="button"
                onClick={() => {
                  void navigator.clipboard?.writeText(done.password ?? "");
                  setCopied(true);
                }}
              >
                {copied ? "Copied" : "Copy password"}
              </button>
            </div>
          ) : (
            <div className="note note-ok" role="status" aria-label="New password">
              The password of <strong>{user.username}</strong> is now the one you typed.
            </div>
          )}
          <p className="hint">Their sessions from before have ended; their API tokens still work (disable the user to stop those).</p>
          <div className="actions">
            <button type="button" className="primary" onClick={onClose}>
              Done
            </button>
          </div>
        </div>
      ) : (
        <form className="form" onSubmit={submit}>
          <ErrorNote error={reset.error} />
          <fieldset className="segmented">
            <legend>New password</legend>
            <label>
              <input type="radio" name="reset-how" checked={how === "generate"} onChange={() => setHow("generate")} /> Generate one
            </label>
            <label>
              <input type="radio" name="reset-how" checked={how === "set"} onChange={() => setHow("set")} /> Type one
            </label>
          </fieldset>
          {how === "set" && (
            <label>
              Password for {user.username}
              <input
                type="password"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
                required
                minLength={8}
                autoComplete="new-password"
              />
            </label>
          )}
          <p className="hint">
            {how === "set" ? "At least 8 characters. " : ""}
            {user.username} is logged out everywhere; their API tokens keep working.
          </p>
          <div className="actions">
            <button type="button" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className="danger" disabled={reset.isPending}>
              Reset password
            </button>
          </div>
        </form>
      )}
    </Modal>
  );
}

const ROLES: Role[] = ["viewer", "editor", "admin"];

export function UsersPage() {
  const { user: me } = useSession();
  const client = useQueryClient();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [disabling, setDisabling] = useState<User | null>(null);
  const [resetting, setResetting] = useState<User | null>(null);
  const users = useQuery({ queryKey: ["users"], queryFn: () => get<User[]>("/users") });
  const refresh = () => void client.invalidateQueries({ queryKey: ["users"] });
  const create = useMutation({
    mutationFn: () => post<User>("/users", { username, password, role }),
    onSuccess: () => {
      setUsername("");
      setPassword("");
      refresh();
    },
  });
  const update = useMutation({
    mutationFn: ({ id, body }: { id: string; body: Partial<{ role: Role; disabled: boolean }> }) => patch<User>(`/users/${id}`, body),
    onSuccess: () => {
      setDisabling(null);
      refresh();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <section>
      <div className="page-head">
        <h1>Users</h1>
      </div>
      <form className="inline-form" onSubmit={submit} aria-label="Add user">
        <label>
          New username
          <input value={username} onChange={(e) => setUsername(e.target.value)} required pattern="[A-Za-z0-9_.@\-]+" />
        </label>
        <label>
          New password
          <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} required minLength={8} autoComplete="new-password" />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit" className="primary" disabled={create.isPending}>
          Add user
        </button>
      </form>
      <ErrorNote error={create.error ?? update.error} />
      <table className="table" aria-label="Users">
        <thead>
          <tr>
            <th>Username</th>
            <th>Role</th>
            <th>State</th>
            <th>Created</th>
            <th aria-label="Actions" />
          </tr>
        </thead>
        <tbody>
          {users.data?.map((u) => (
            <tr key={u.id}>
              <td>
                {u.username} {u.id === me?.id && <span className="muted small">(you)</span>}
              </td>
              <td>
                <select
                  aria-label={`Role of ${u.username}`}
                  value={u.role}
                  onChange={(e) => update.mutate({ id: u.id, body: { role: e.target.value as Role } })}
                >
                  {ROLES.map((r) => (
                    <option key={r}>{r}</option>
                  ))}
                </select>
              </td>
              <td>{u.disabled ? <span className="badge badge-muted">disabled</span> : <span className="badge badge-ok">active</span>}</td>
              <td>{new Date(u.created_at).toLocaleDateString()}</td>
              <td className="row-actions">
                <button
                  type="button"
                  className="ghost"
                  aria-label={`${u.disabled ? "Enable" : "Disable"} ${u.username}`}
                  onClick={() => (u.disabled ? update.mutate({ id: u.id, body: { disabled: false } }) : setDisabling(u))}
                >
                  {u.disabled ? "Enable" : "Disable"}
                </button>
                {u.id !== me?.id && (
                  <button type="button" className="ghost" aria-label={`Reset password of ${u.username}`} onClick={() => setResetting(u)}>
                    Reset password
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {me && <p className="hint">To change your own password, use Settings (it asks for the current one).</p>}
      {disabling && (
        <ConfirmDialog
          title={`Disable ${disabling.username}?`}
          confirm="Disable user"
          busy={update.isPending}
          onCancel={() => setDisabling(null)}
          onConfirm={() => update.mutate({ id: disabling.id, body: { disabled: true } })}
        >
          <ErrorNote error={update.error} />
          <p>
            {disabling.username} is logged out at once, and their API tokens stop working. Enable them again to give the
            access back.
          </p>
        </ConfirmDialog>
      )}
      {resetting && <ResetPassword user={resetting} onClose={() => setResetting(null)} />}
    </section>
  );
}
