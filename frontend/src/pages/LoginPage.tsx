import { useState, type FormEvent } from "react";
import { api, csrfToken, errorMessage } from "../api/client";
import type { Me } from "../api/types";

export function LoginPage({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    // Signing in needs the CSRF token too; the app's page sets its cookie, this asks again if it is gone.
    if (!csrfToken()) await api.GET("/api/v1/auth/login/");
    const { data, error: failure } = await api.POST("/api/v1/auth/login/", { body: { username, password } });
    setBusy(false);
    if (failure || !data) setError(errorMessage(failure, "Signing in failed."));
    else onSignedIn(data as Me);
  };

  return (
    <div className="login">
      <form className="login-card" onSubmit={submit} aria-label="Sign in">
        <h1>DermRelay</h1>
        <p className="muted">Remote reading of confocal and dermoscopy cases</p>
        <label>User name<input name="username" autoComplete="username" value={username} autoFocus
          onChange={(event) => setUsername(event.target.value)} required /></label>
        <label>Password<input name="password" type="password" autoComplete="current-password" value={password}
          onChange={(event) => setPassword(event.target.value)} required /></label>
        {error ? <p className="error" role="alert">{error}</p> : null}
        <button type="submit" className="primary" disabled={busy}>{busy ? "Signing in…" : "Sign in"}</button>
      </form>
    </div>
  );
}
