import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { get, patch, post } from "../api/client";
import type { Role, User } from "../api/types";
import { useSession } from "../auth/session";
import { ErrorNote } from "../components/ui";

const ROLES: Role[] = ["viewer", "editor", "admin"];

export function UsersPage() {
  const { user: me } = useSession();
  const client = useQueryClient();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("viewer");
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
    onSuccess: refresh,
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
                  onClick={() => update.mutate({ id: u.id, body: { disabled: !u.disabled } })}
                >
                  {u.disabled ? "Enable" : "Disable"}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
