/** The capture devices signed in with your account: each has a token of its own, with a name and a
 * lifetime. Sign a new device in here (its key is shown once, to type or paste into the device),
 * and revoke a lost or replaced device's token: it is signed out at once. */
import { useCallback, useEffect, useState, type FormEvent } from "react";
import { api, errorMessage } from "../api/client";
import type { DeviceToken, IssuedToken, Me } from "../api/types";
import { dateTimeText } from "../lib/format";

const STATE_TEXT: Record<string, string> = { active: "Active", expired: "Expired", revoked: "Revoked" };

export function DevicesPage({ me }: { me: Me }) {
  const [tokens, setTokens] = useState<DeviceToken[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [issued, setIssued] = useState<IssuedToken | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    const { data, error: failure } = await api.GET("/api/v1/auth/tokens/");
    if (failure || !data) setError(errorMessage(failure, "Your devices could not be loaded."));
    else setTokens(data);
  }, []);
  useEffect(() => { void load(); }, [load]);

  const signIn = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const { data, error: failure } = await api.POST("/api/v1/auth/token/", {
      body: { username: me.username, password, name, code },
    });
    setBusy(false);
    setPassword("");
    setCode("");
    if (failure || !data) return setError(errorMessage(failure, "The device could not be signed in."));
    setIssued(data);
    setName("");
    void load();
  };

  const revoke = async (token: DeviceToken) => {
    setError(null);
    const { error: failure } = await api.POST("/api/v1/auth/tokens/{id}/revoke/", { params: { path: { id: token.id } } });
    if (failure) setError(errorMessage(failure, "The token could not be revoked."));
    void load();
  };

  return (
    <section className="worklist devices" aria-label="Devices">
      <div className="toolbar"><h1>Devices</h1>
        <span className="muted">Capture devices signed in with your account. Revoke one that is lost or replaced.</span>
      </div>
      {error ? <p className="error" role="alert">{error}</p> : null}
      {issued ? (
        <div className="notice" data-testid="issued-token">
          <p>The key for <strong>{issued.name}</strong>, shown only now: enter it in the device's settings.</p>
          <code className="token-key">{issued.token}</code>
          <p className="muted small">It stops working on {dateTimeText(issued.expires_at)}, or when you revoke it.</p>
          <button type="button" onClick={() => setIssued(null)}>Done</button>
        </div>
      ) : null}
      <table className="grid" aria-label="Device tokens">
        <thead><tr><th>Device</th><th>Key</th><th>Signed in</th><th>Last used</th><th>Expires</th><th>State</th><th /></tr></thead>
        <tbody>
          {tokens === null ? <tr><td colSpan={7} className="muted">Loading…</td></tr> : null}
          {tokens?.length === 0 ? <tr><td colSpan={7} className="muted">No device is signed in with your account.</td></tr> : null}
          {tokens?.map((token) => (
            <tr key={token.id} data-testid="device-token" data-state={token.state}>
              <td>{token.name}{token.current ? <span className="muted"> (this device)</span> : null}</td>
              <td><code>{token.prefix}…</code></td>
              <td>{dateTimeText(token.created_at)}</td>
              <td>{token.last_used_at ? dateTimeText(token.last_used_at) : "never"}</td>
              <td>{dateTimeText(token.expires_at)}</td>
              <td>{STATE_TEXT[token.state] ?? token.state}{token.revoked_at ? ` ${dateTimeText(token.revoked_at)}` : ""}</td>
              <td>{token.state === "active" ? (
                <button type="button" className="danger" onClick={() => void revoke(token)}>Revoke</button>) : null}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="device-form" onSubmit={signIn} aria-label="Sign in a device">
        <h2 className="section-title">Sign in a device</h2>
        <label>Device name<input name="device-name" value={name} maxLength={100} required
          placeholder="e.g. VivaScope, room 2" onChange={(event) => setName(event.target.value)} /></label>
        <label>Your password<input name="password" type="password" autoComplete="current-password" value={password}
          required onChange={(event) => setPassword(event.target.value)} /></label>
        {me.mfa.enrolled ? (
          <label>Code from your authenticator app<input name="code" autoComplete="one-time-code" value={code} required
            onChange={(event) => setCode(event.target.value)} /></label>
        ) : null}
        <button type="submit" className="primary" disabled={busy}>{busy ? "Signing in…" : "Get a key"}</button>
      </form>
    </section>
  );
}
