/** Setting an authenticator app up: the QR code to scan (or the secret to type), then one code the
 * app shows to confirm it. Used as the last step of a first sign-in the site's policy asks it of,
 * and on the Security page to set one up or replace it (that needs the password). */
import { useEffect, useState, type FormEvent } from "react";
import { api, errorMessage } from "../../api/client";
import type { AuthenticatorSetupData, Enrolled } from "../../api/types";

export function AuthenticatorSetup({ password, onDone }: { password?: string; onDone: (enrolled: Enrolled) => void }) {
  const [setup, setSetup] = useState<AuthenticatorSetupData | null>(null);
  const [code, setCode] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    void api.POST("/api/v1/auth/mfa/authenticator/", { body: { password: password ?? "" } }).then(({ data, error: failure }) => {
      if (data) setSetup(data);
      else setError(errorMessage(failure, "The authenticator could not be set up."));
    });
  }, [password]);

  const confirm = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const { data, error: failure } = await api.POST("/api/v1/auth/mfa/authenticator/confirm/", { body: { code } });
    setBusy(false);
    if (data) onDone(data);
    else { setError(errorMessage(failure, "The code was not accepted.")); setCode(""); }
  };

  if (!setup) return error ? <p className="error" role="alert">{error}</p> : <p className="muted">Preparing…</p>;
  return (
    <form className="authenticator-setup" onSubmit={confirm} aria-label="Set up an authenticator">
      <p className="small">Scan this with an authenticator app (Google Authenticator, Microsoft Authenticator, 1Password, FreeOTP…):</p>
      <img className="qr" src={setup.qr_code} alt="QR code for the authenticator app" width={200} height={200} />
      <p className="small muted">Cannot scan? Type this key into the app:</p>
      <code className="token-key" data-testid="authenticator-secret">{setup.secret}</code>
      <label>Code from the app<input name="code" inputMode="numeric" autoComplete="one-time-code" value={code} required
        onChange={(event) => setCode(event.target.value)} /></label>
      {error ? <p className="error" role="alert">{error}</p> : null}
      <button type="submit" className="primary" disabled={busy}>{busy ? "Checking…" : "Confirm"}</button>
    </form>
  );
}

/** Recovery codes, shown once: each signs in once when the phone is out of reach. */
export function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  return (
    <div className="notice recovery-codes" data-testid="recovery-codes">
      <p><strong>Your recovery codes</strong>, shown only now. Keep them somewhere safe (printed, or in a password
        manager): each one signs you in once if your phone is lost.</p>
      <ol>{codes.map((code) => <li key={code}><code>{code}</code></li>)}</ol>
      <button type="button" className="primary" onClick={onDone}>I have saved them</button>
    </div>
  );
}
