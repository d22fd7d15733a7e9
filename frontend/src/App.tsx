/** The reader workspace: sign in, then the worklist and the case viewer. What a person sees
 * follows their roles; the API enforces the same rules. */
import { useCallback, useEffect, useState } from "react";
import { api } from "./api/client";
import type { Me } from "./api/types";
import { CasePage } from "./pages/CasePage";
import { LoginPage } from "./pages/LoginPage";
import { WorklistPage } from "./pages/WorklistPage";
import { navigate, useRoute } from "./lib/route";

export function roleSet(me: Me): Set<string> {
  return new Set(Object.values(me.roles).flat());
}

export function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const route = useRoute();

  const loadMe = useCallback(async () => {
    const { data, response } = await api.GET("/api/v1/auth/me/");
    setMe(response.ok ? (data as Me) : null);
  }, []);
  useEffect(() => { void loadMe(); }, [loadMe]);

  if (me === undefined) return <div className="splash">Loading…</div>;
  if (me === null) return <LoginPage onSignedIn={setMe} />;

  const roles = roleSet(me);
  const logout = async () => {
    await api.POST("/api/v1/auth/logout/");
    setMe(null);
    navigate("/");
  };
  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="/" onClick={(event) => { event.preventDefault(); navigate("/"); }}>DermRelay</a>
        <span className="topbar-title">Reader workspace</span>
        <span className="spacer" />
        <span className="who" data-testid="who">{me.full_name || me.username} · {[...roles].sort().join(", ") || "no role"}</span>
        <button type="button" className="link" onClick={logout}>Sign out</button>
      </header>
      <main className="content">
        {!roles.has("reader") && !roles.has("site_admin") ? (
          <div className="notice">
            The reader workspace is for readers and site admins. Your roles ({[...roles].join(", ") || "none"}) use
            the API and the clinic pages.
          </div>
        ) : route.page === "worklist" ? (
          <WorklistPage />
        ) : route.page === "case" ? (
          <CasePage key={route.caseId} caseId={route.caseId} me={me} />
        ) : (
          <div className="notice">Nothing here ({route.path}). <a href="/" onClick={(e) => { e.preventDefault(); navigate("/"); }}>Back to the worklist</a></div>
        )}
      </main>
    </div>
  );
}
