/** Signing in: the password, then, where a site's policy asks for a second factor, the code of the
 * authenticator app (or a recovery code, or an emergency code from a site administrator); someone
 * whose policy asks for one and who has none sets an authenticator up here before their first
 * session starts. */
import { useState, type FormEvent } from "react";
import { api, csrfToken, errorMessage } from "../api/client";
import type { Enrolled, Me } from "../api/types";
import { AuthenticatorSetup, RecoveryCodes } from "../components/account/AuthenticatorSetup";

type Step = "password" | "code" | "enrol" | "emergency" | "codes";

export function LoginPage({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [step, setStep] = useState<Step>("password");
  const [enrolled, setEnrolled] = useState<Enrolled | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    // Signing in needs the CSRF token too; the app's page sets its cookie, this asks again if it is gone.
    if (!csrfToken()) await api.GET("/api/v1/auth/login/");
    const { data, error: failure, response } = await api.POST("/api/v1/auth/login/", { body: { username, password } });
    setBusy(false);
    if (failure || !data) return setError(errorMessage(failure, "Signing in failed."));
    if (response.status === 202) setStep("next_step" in data && data.next_step === "mfa_enrol" ? "enrol" : "code");
    else onSignedIn(data as Me);
  };

  const submitCode = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const { data, error: failure } = await api.POST("/api/v1/auth/login/code/", { body: { code } });
    setBusy(false);
    setCode("");
    if (data) return onSignedIn(data);
    const body = failure as { code?: string } | undefined;
    if (body?.code === "no_pending_sign_in" || /enter your password again/i.test(errorMessage(failure))) setStep("password");
    setError(errorMessage(failure, "The code was not accepted."));
  };

  const codeForm = (emergency: boolean) => (
    <form className="login-card" onSubmit={submitCode} aria-label={emergency ? "Emergency access" : "Second factor"}>
      <h1>DermRelay</h1>
      <p className="muted">{emergency
        ? "Type the emergency code your site administrator gave you. The access ends when they set; every action is recorded and your administrators are told."
        : "Type the code your authenticator app shows for DermRelay, or one of your recovery codes."}</p>
      <label>{emergency ? "Emergency code" : "Code"}<input name="code" autoComplete="one-time-code" value={code} autoFocus required
        onChange={(event) => setCode(event.target.value)} /></label>
      {error ? <p className="error" role="alert">{error}</p> : null}
      <button type="submit" className="primary" disabled={busy}>{busy ? "Checking…" : "Sign in"}</button>
      {!emergency ? <p className="small muted">Phone and recovery codes out of reach? Ask your site administrator for an
        emergency code, and type it here instead.</p> : null}
    </form>
  );

  if (step === "code") return <div className="login">{codeForm(false)}</div>;
  if (step === "emergency") return <div className="login">{codeForm(true)}</div>;
  if (step === "codes" && enrolled) {
    return <div className="login"><div className="login-card"><RecoveryCodes codes={enrolled.recovery_codes}
      onDone={() => onSignedIn(enrolled.me)} /></div></div>;
  }
  if (step === "enrol") {
    return (
      <div className="login">
        <div className="login-card wide" aria-label="Second factor required">
          <h1>DermRelay</h1>
          <p>Your role at your clinic requires a second factor: set up an authenticator app to finish signing in.</p>
          <AuthenticatorSetup onDone={(result) => { setEnrolled(result); setStep("codes"); }} />
          <button type="button" className="link" onClick={() => { setError(null); setStep("emergency"); }}>
            I have an emergency code from my site administrator</button>
        </div>
      </div>
    );
  }
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
