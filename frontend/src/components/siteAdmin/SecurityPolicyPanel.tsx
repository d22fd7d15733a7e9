/** Which of the site's roles sign in with a second factor (GET|PUT /api/v1/sites/{id}/security-policy/),
 * and who of the staff has an authenticator yet. Turning a role on signs its holders out everywhere:
 * they sign in again with a code, or set an authenticator up first. */
import { useEffect, useState } from "react";
import { api, errorMessage } from "../../api/client";
import type { SecurityPolicy } from "../../api/types";
import { problemText } from "../../lib/siteAdmin";
import { OutcomeMessage, type Outcome } from "../OutcomeMessage";

export const ROLE_TEXT: Record<string, string> = {
  technician: "Technicians", site_admin: "Site administrators", reader: "Readers", qa_admin: "Quality administrators",
};
type Role = "technician" | "site_admin" | "reader" | "qa_admin";

export function SecurityPolicyPanel({ siteId }: { siteId: string }) {
  const [policy, setPolicy] = useState<SecurityPolicy | null>(null);
  const [roles, setRoles] = useState<Role[]>([]);
  const [message, setMessage] = useState<Outcome | null>(null);
  const [busy, setBusy] = useState(false);
  const show = (found: SecurityPolicy) => { setPolicy(found); setRoles(found.mfa_required_roles as Role[]); };
  useEffect(() => {
    setMessage(null);
    setPolicy(null);
    void api.GET("/api/v1/sites/{id}/security-policy/", { params: { path: { id: siteId } } }).then(({ data, error }) => {
      if (data) show(data);
      else setMessage({ ok: false, text: errorMessage(error, "The security policy could not be loaded.") });
    });
  }, [siteId]);

  const save = async () => {
    setBusy(true);
    const { data, error } = await api.PUT("/api/v1/sites/{id}/security-policy/", {
      params: { path: { id: siteId } }, body: { mfa_required_roles: roles },
    });
    setBusy(false);
    if (data) {
      show(data);
      setMessage({ ok: true, text: data.mfa_required_roles.length
        ? `Saved: ${data.mfa_required_roles.map((r) => ROLE_TEXT[r] ?? r).join(", ")} sign in with a second factor.`
        : "Saved: nobody at this site is asked for a second factor." });
    } else setMessage({ ok: false, text: problemText(error, "The security policy was not saved.") });
  };
  const toggle = (role: Role, on: boolean) => setRoles((now) => (on ? [...now, role] : now.filter((r) => r !== role)));

  return (
    <section className="panel" aria-label="Security policy" data-testid="security-policy">
      <h2>Second factor</h2>
      <p className="small muted">Who must sign in with an authenticator app's code. Turning a role on signs its holders
        out everywhere; those without an authenticator set one up at their next sign-in.</p>
      <form className="form-grid" onSubmit={(e) => { e.preventDefault(); void save(); }}>
        <div className="wide roles-choice">
          {(Object.keys(ROLE_TEXT) as Role[]).map((role) => (
            <label key={role} className="check"><input type="checkbox" disabled={!policy} checked={roles.includes(role)}
              onChange={(e) => toggle(role, e.target.checked)} /> {ROLE_TEXT[role]}</label>
          ))}
        </div>
        <div className="actions"><button type="submit" className="primary" disabled={busy || !policy}>Save security policy</button></div>
        <OutcomeMessage outcome={message} />
      </form>
      {policy ? (
        <table className="grid" aria-label="Staff second factor">
          <thead><tr><th>Staff</th><th>Roles</th><th>Authenticator</th></tr></thead>
          <tbody>{policy.staff.map((person) => (
            <tr key={person.id} data-testid="staff-mfa" data-username={person.username}>
              <td>{person.full_name}</td>
              <td>{person.roles.map((r) => ROLE_TEXT[r] ?? r).join(", ")}</td>
              <td>{person.mfa_enrolled ? "set up" : person.mfa_required_here ? <span className="error">required, not set up</span> : "not set up"}</td>
            </tr>
          ))}</tbody>
        </table>
      ) : null}
    </section>
  );
}
