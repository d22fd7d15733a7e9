/** Emergency access for a staff member who cannot give their second factor (a lost phone on call):
 * a reason and a length, then a single-use code to read out to them. Every administrator and
 * quality administrator of their sites is told when it is granted and when it is used; the list
 * shows every grant for the site's staff, and one can be revoked (its session ends at once). */
import { useCallback, useEffect, useState, type FormEvent } from "react";
import { api, errorMessage } from "../../api/client";
import type { BreakGlassGrant, IssuedBreakGlass, Me, StaffMember } from "../../api/types";
import { dateTimeText } from "../../lib/format";
import { problemText } from "../../lib/siteAdmin";

function stateOf(grant: BreakGlassGrant): string {
  if (grant.revoked_at) return `revoked ${dateTimeText(grant.revoked_at)}`;
  if (new Date(grant.expires_at) <= new Date()) return grant.used_at ? "used, over" : "expired unused";
  return grant.used_at ? `in use since ${dateTimeText(grant.used_at)}` : "not used yet";
}

export function BreakGlassPanel({ siteId, me }: { siteId: string; me: Me }) {
  const [grants, setGrants] = useState<BreakGlassGrant[] | null>(null);
  const [staff, setStaff] = useState<StaffMember[]>([]);
  const [user, setUser] = useState("");
  const [reason, setReason] = useState("");
  const [minutes, setMinutes] = useState(60);
  const [issued, setIssued] = useState<IssuedBreakGlass | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    const path = { params: { path: { id: siteId } } };
    const [list, policy] = await Promise.all([api.GET("/api/v1/sites/{id}/break-glass/", path),
      api.GET("/api/v1/sites/{id}/security-policy/", path)]);
    if (list.data) setGrants(list.data); else setError(errorMessage(list.error, "The emergency access grants could not be loaded."));
    if (policy.data) setStaff(policy.data.staff.filter((person) => person.id !== me.id));
  }, [siteId, me.id]);
  useEffect(() => { setIssued(null); setError(null); void load(); }, [load]);

  const grant = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const { data, error: failure } = await api.POST("/api/v1/sites/{id}/break-glass/", {
      params: { path: { id: siteId } }, body: { user: Number(user), reason, minutes },
    });
    setBusy(false);
    if (!data) return setError(problemText(failure, "No emergency access was granted."));
    setIssued(data);
    setReason("");
    void load();
  };

  const revoke = async (row: BreakGlassGrant) => {
    const { error: failure } = await api.POST("/api/v1/sites/{id}/break-glass/{grant_id}/revoke/", {
      params: { path: { id: siteId, grant_id: row.id } },
    });
    if (failure) setError(problemText(failure, "The grant was not revoked."));
    void load();
  };

  return (
    <section className="panel" aria-label="Emergency access" data-testid="break-glass">
      <h2>Emergency access</h2>
      <p className="small muted">For a colleague who cannot give their second factor when a patient needs them. They sign in
        with their password and the code below; the access ends when you set, and everyone administering their sites is told.</p>
      {issued ? (
        <div className="notice" data-testid="break-glass-code">
          <p>Emergency code for <strong>{issued.user_name}</strong>, until {dateTimeText(issued.expires_at)}, shown only now:
            read it out to them.</p>
          <code className="token-key">{issued.code}</code>
          <button type="button" onClick={() => setIssued(null)}>Done</button>
        </div>
      ) : null}
      <form className="form-grid" onSubmit={grant} aria-label="Grant emergency access">
        <label>Staff member<select value={user} required onChange={(e) => setUser(e.target.value)}>
          <option value="">Choose…</option>
          {staff.map((person) => <option key={person.id} value={person.id}>{person.full_name} ({person.username})</option>)}
        </select></label>
        <label>For (minutes)<input type="number" min={5} max={240} value={minutes} required
          onChange={(e) => setMinutes(Number(e.target.value))} /></label>
        <label className="wide">Reason<input value={reason} required minLength={10} maxLength={1000}
          placeholder="e.g. phone lost, on call for the melanoma clinic tonight" onChange={(e) => setReason(e.target.value)} /></label>
        <div className="actions"><button type="submit" className="danger" disabled={busy}>Grant emergency access</button></div>
        {error ? <p className="error" role="alert">{error}</p> : null}
      </form>
      {grants?.length ? (
        <table className="grid" aria-label="Emergency access grants">
          <thead><tr><th>For</th><th>By</th><th>Reason</th><th>Until</th><th>State</th><th /></tr></thead>
          <tbody>{grants.map((row) => (
            <tr key={row.id} data-testid="break-glass-grant">
              <td>{row.user_name}</td><td>{row.granted_by}</td><td>{row.reason}</td><td>{dateTimeText(row.expires_at)}</td>
              <td>{stateOf(row)}</td>
              <td>{!row.revoked_at && new Date(row.expires_at) > new Date()
                ? <button type="button" className="danger" onClick={() => void revoke(row)}>Revoke</button> : null}</td>
            </tr>
          ))}</tbody>
        </table>
      ) : null}
    </section>
  );
}
