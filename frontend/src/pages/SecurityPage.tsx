/** Your second factor: set an authenticator app up (or replace it, with your password), get new
 * recovery codes (with the app's current code), or remove it where no site requires it. */
import { useCallback, useEffect, useState, type FormEvent } from "react";
import { api, errorMessage } from "../api/client";
import type { Me, MfaDetail } from "../api/types";
import { AuthenticatorSetup, RecoveryCodes } from "../components/account/AuthenticatorSetup";
import { dateTimeText } from "../lib/format";

type Mode = "view" | "setup" | "replace-password" | "replace" | "codes-code" | "remove-password";

export function SecurityPage({ onMeChanged }: { me: Me; onMeChanged: (me: Me) => void }) {
  const [detail, setDetail] = useState<MfaDetail | null>(null);
  const [mode, setMode] = useState<Mode>("view");
  const [secret, setSecret] = useState("");  // the password or code the current step asks for
  const [password, setPassword] = useState<string | undefined>(undefined);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    const { data, error: failure } = await api.GET("/api/v1/auth/mfa/");
    if (data) setDetail(data);
    else setError(errorMessage(failure, "Your second factor could not be loaded."));
  }, []);
  useEffect(() => { void load(); }, [load]);
  const back = () => { setMode("view"); setSecret(""); setPassword(undefined); void load(); };

  const newCodes = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const { data, error: failure } = await api.POST("/api/v1/auth/mfa/recovery-codes/", { body: { code: secret } });
    setBusy(false);
    setSecret("");
    if (data) { setCodes(data.recovery_codes); back(); } else setError(errorMessage(failure, "No new codes were made."));
  };

  const remove = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const { data, error: failure } = await api.POST("/api/v1/auth/mfa/remove/", { body: { password: secret } });
    setBusy(false);
    setSecret("");
    if (data) { onMeChanged(data); back(); } else setError(errorMessage(failure, "The authenticator was not removed."));
  };

  const asked = (label: string, type: string, onSubmit: (event: FormEvent) => void, action: string) => (
    <form className="device-form" onSubmit={onSubmit} aria-label={action}>
      <label>{label}<input name="secret" type={type} value={secret} required autoFocus
        autoComplete={type === "password" ? "current-password" : "one-time-code"} onChange={(e) => setSecret(e.target.value)} /></label>
      <button type="submit" className="primary" disabled={busy}>{action}</button>
      <button type="button" onClick={back}>Cancel</button>
    </form>
  );

  return (
    <section className="worklist security" aria-label="Security">
      <div className="toolbar"><h1>Security</h1>
        <span className="muted">Your second factor: the code of an authenticator app, asked when you sign in.</span>
      </div>
      {error ? <p className="error" role="alert">{error}</p> : null}
      {codes ? <RecoveryCodes codes={codes} onDone={() => setCodes(null)} /> : null}
      {detail ? (
        <dl className="facts" data-testid="mfa-state" data-enrolled={String(detail.enrolled)}>
          <dt>Authenticator app</dt>
          <dd>{detail.enrolled ? `set up ${detail.confirmed_at ? dateTimeText(detail.confirmed_at) : ""}` : "not set up"}
            {detail.last_used_at ? ` · last used ${dateTimeText(detail.last_used_at)}` : ""}</dd>
          <dt>Recovery codes left</dt><dd>{detail.recovery_codes_left}</dd>
          <dt>Required by</dt><dd>{detail.required_by.length ? detail.required_by.join(", ") : "no site (optional for you)"}</dd>
        </dl>
      ) : null}
      {mode === "view" && detail ? (
        <div className="actions">
          {!detail.enrolled ? <button type="button" className="primary" onClick={() => setMode("setup")}>Set up an authenticator</button> : (
            <>
              <button type="button" onClick={() => setMode("replace-password")}>Replace the authenticator</button>
              <button type="button" onClick={() => setMode("codes-code")}>New recovery codes</button>
              <button type="button" className="danger" disabled={detail.required_by.length > 0}
                title={detail.required_by.length ? "A site you work for requires it" : undefined}
                onClick={() => setMode("remove-password")}>Remove</button>
            </>
          )}
        </div>
      ) : null}
      {mode === "setup" || mode === "replace" ? (
        <AuthenticatorSetup password={password} onDone={(result) => { setCodes(result.recovery_codes); onMeChanged(result.me); back(); }} />
      ) : null}
      {mode === "replace-password" ? asked("Your password", "password", (event) => {
        event.preventDefault(); setPassword(secret); setSecret(""); setMode("replace");
      }, "Continue") : null}
      {mode === "codes-code" ? asked("Code from the app", "text", newCodes, "Make new codes") : null}
      {mode === "remove-password" ? asked("Your password", "password", remove, "Remove the authenticator") : null}
    </section>
  );
}
