import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { del, get, post } from "../api/client";
import type { ApiToken, ApiTokenCreated, TokenResponse } from "../api/types";
import { useSession } from "../auth/session";
import { ConfirmDialog } from "../components/confirm";
import { ErrorNote } from "../components/ui";

/** Change your own password; this session goes on with the new token the server answers. */
function ChangePassword() {
  const { adopt } = useSession();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [mismatch, setMismatch] = useState(false);
  const change = useMutation({
    mutationFn: () => post<TokenResponse>("/auth/password", { current_password: current, new_password: next }),
    onSuccess: (res) => {
      adopt(res);
      setCurrent("");
      setNext("");
      setAgain("");
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setMismatch(next !== again);
    if (next === again) change.mutate();
  };
  return (
    <>
      <h2>Password</h2>
      <p className="muted small">
        Changing it ends your other sessions (other browsers log in again); this one goes on. API tokens keep working:
        revoke any you no longer trust below.
      </p>
      <form className="inline-form" onSubmit={submit} aria-label="Change password">
        <label>
          Current password
          <input type="password" value={current} onChange={(e) => setCurrent(e.target.value)} required autoComplete="current-password" />
        </label>
        <label>
          New password
          <input
            type="password"
            value={next}
            onChange={(e) => setNext(e.target.value)}
            required
            minLength={8}
            autoComplete="new-password"
          />
        </label>
        <label>
          New password again
          <input type="password" value={again} onChange={(e) => setAgain(e.target.value)} required autoComplete="new-password" />
        </label>
        <button type="submit" className="primary" disabled={change.isPending}>
          Change password
        </button>
      </form>
      <p className="hint">At least 8 characters.</p>
      {mismatch && (
        <div className="note note-bad" role="alert">
          The new password and its repetition differ: type the same one twice.
        </div>
      )}
      {!mismatch && <ErrorNote error={change.error} />}
      {change.isSuccess && !change.isPending && (
        <div className="note note-ok" role="status" aria-label="Password changed">
          Password changed. Use it the next time you log in.
        </div>
      )}
    </>
  );
}

export function SettingsPage() {
  const { user } = useSession();
  const client = useQueryClient();
  const [name, setName] = useState("");
  const [days, setDays] = useState("");
  const [created, setCreated] = useState<ApiTokenCreated | null>(null);
  const [copied, setCopied] = useState(false);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const tokens = useQuery({ queryKey: ["tokens"], queryFn: () => get<ApiToken[]>("/tokens") });
  const create = useMutation({
    mutationFn: () => post<ApiTokenCreated>("/tokens", { name, expires_in_days: days ? Number(days) : null }),
    onSuccess: (t) => {
      setCreated(t);
      setName("");
      setDays("");
      setCopied(false);
      void client.invalidateQueries({ queryKey: ["tokens"] });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => del(`/tokens/${id}`),
    onSuccess: (_, id) => {
      // The once-shown banner of a token just revoked would show a dead secret.
      setCreated((c) => (c?.id === id ? null : c));
      setRevoking(null);
      void client.invalidateQueries({ queryKey: ["tokens"] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <section>
      <div className="page-head">
        <h1>Settings</h1>
      </div>
      <p className="muted">
        Signed in as <strong>{user?.username}</strong> ({user?.role}).
      </p>
      <ChangePassword />
      <h2>API tokens</h2>
      <p className="muted small">For CI and scripts: send as <code>Authorization: Bearer &lt;token&gt;</code>.</p>
      <form className="inline-form" onSubmit={submit} aria-label="Create API token">
        <label>
          Token name
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} placeholder="ci" />
        </label>
        <label>
          Expires in days (optional)
          <input type="number" min={1} max={3650} value={days} onChange={(e) => setDays(e.target.value)} />
        </label>
        <button type="submit" className="primary" disabled={create.isPending}>
          Create token
        </button>
      </form>
      <ErrorNote error={create.error ?? revoke.error} />
      {created?.token && (
        <div className="note note-ok token-once" role="status" aria-label="New token">
          <div>
            Token <strong>{created.name}</strong> created. Copy it now: it is not shown again.
          </div>
          <code className="secret">{created.token}</code>
          <button
            type="button"
            onClick={() => {
              void navigator.clipboard?.writeText(created.token);
              setCopied(true);
            }}
          >
            {copied ? "Copied" : "Copy token"}
          </button>
          <button type="button" className="ghost" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      )}
      <table className="table" aria-label="API tokens">
        <thead>
          <tr>
            <th>Name</th>
            <th>Prefix</th>
            <th>Created</th>
            <th>Expires</th>
            <th>Last used</th>
            <th>State</th>
            <th aria-label="Actions" />
          </tr>
        </thead>
        <tbody>
          {tokens.data?.map((t) => (
            <tr key={t.id}>
              <td>{t.name}</td>
              <td className="mono">{t.prefix}…</td>
              <td>{new Date(t.created_at).toLocaleDateString()}</td>
              <td>{t.expires_at ? new Date(t.expires_at).toLocaleDateString() : "never"}</td>
              <td>{t.last_used_at ? new Date(t.last_used_at).toLocaleString() : "never"}</td>
              <td>{t.revoked_at ? <span className="badge badge-muted">revoked</span> : <span className="badge badge-ok">active</span>}</td>
              <td className="row-actions">
                {!t.revoked_at && (
                  <button type="button" className="danger ghost" aria-label={`Revoke ${t.name}`} onClick={() => setRevoking(t)}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {tokens.data?.length === 0 && <p className="muted">No tokens yet.</p>}
      {revoking && (
        <ConfirmDialog
          title={`Revoke ${revoking.name}?`}
          confirm="Revoke token"
          busy={revoke.isPending}
          onCancel={() => setRevoking(null)}
          onConfirm={() => revoke.mutate(revoking.id)}
        >
          <p>
            Scripts and CI jobs that send <code>{revoking.prefix}…</code> are refused from now on. A revoked token cannot be
            restored; create a new one if you need it again.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}
