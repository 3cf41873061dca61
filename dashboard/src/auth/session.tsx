import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, configureClient, get } from "../api/client";
import type { Role, TokenResponse, User } from "../api/types";

const KEY = "assay.session";
export const EXPIRED_MESSAGE = "Your session expired. Please log in again.";

interface Stored {
  token: string;
  expiresAt: number;
}

function load(): Stored | null {
  try {
    const s = JSON.parse(localStorage.getItem(KEY) ?? "null") as Stored | null;
    if (s && s.token && s.expiresAt > Date.now()) return s;
  } catch {
    /* corrupt: ignore */
  }
  return null;
}

interface Session {
  token: string | null;
  user: User | null;
  loadingUser: boolean;
  message: string | null;
  login: (username: string, password: string) => Promise<void>;
  /** Continue with a new access token (the answer of a password change). */
  adopt: (res: TokenResponse) => void;
  logout: (message?: string) => void;
  can: (role: Role) => boolean;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside SessionProvider");
  return s;
}

const LEVEL: Record<Role, number> = { viewer: 0, editor: 1, admin: 2 };

export function SessionProvider({ children }: { children: ReactNode }) {
  const client = useQueryClient();
  const [stored, setStored] = useState<Stored | null>(load);
  const [message, setMessage] = useState<string | null>(() =>
    localStorage.getItem(KEY) && !load() ? EXPIRED_MESSAGE : null,
  );

  const logout = useCallback(
    (msg?: string) => {
      localStorage.removeItem(KEY);
      setStored(null);
      setMessage(msg ?? null);
      client.clear();
    },
    [client],
  );

  configureClient({
    token: () => stored?.token ?? null,
    onUnauthorized: () => logout(EXPIRED_MESSAGE),
  });

  useEffect(() => {
    if (!stored) return;
    const ms = stored.expiresAt - Date.now();
    const timer = setTimeout(() => logout(EXPIRED_MESSAGE), Math.max(0, Math.min(ms, 2 ** 31 - 1)));
    return () => clearTimeout(timer);
  }, [stored, logout]);

  const me = useQuery({
    queryKey: ["me", stored?.token],
    queryFn: () => get<User>("/auth/me"),
    enabled: !!stored,
    staleTime: 60_000,
  });

  const adopt = useCallback((res: TokenResponse) => {
    // The same user with a new token: keep showing them while `me` is read again.
    const known = client.getQueriesData<User>({ queryKey: ["me"] }).map(([, u]) => u).find(Boolean);
    if (known) client.setQueryData(["me", res.access_token], known);
    const next = { token: res.access_token, expiresAt: Date.now() + res.expires_in * 1000 };
    localStorage.setItem(KEY, JSON.stringify(next));
    setMessage(null);
    setStored(next);
  }, [client]);

  const login = useCallback(
    async (username: string, password: string) => {
      adopt(await api<TokenResponse>("POST", "/auth/login", { username, password }, { auth: false }));
    },
    [adopt],
  );

  const value = useMemo<Session>(() => {
    const user = me.data ?? null;
    return {
      token: stored?.token ?? null,
      user,
      loadingUser: !!stored && me.isPending,
      message,
      login,
      adopt,
      logout,
      can: (role: Role) => !!user && LEVEL[user.role] >= LEVEL[role],
    };
  }, [stored, me.data, me.isPending, message, login, adopt, logout]);

  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}
