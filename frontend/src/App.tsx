/** DermRelay in the browser: the clinic's capture pages, the reader workspace, the quality
 * dashboards and the models page. What a person sees follows their roles; the API enforces the
 * same rules, so a page a role may not use would only ever show the server's refusal. */
import { Suspense, lazy, useCallback, useEffect, useState } from "react";
import { SESSION_ENDED, api } from "./api/client";
import type { Me } from "./api/types";
import { Link } from "./components/Link";
import { navigate, useRoute, type Route } from "./lib/route";
import { ClinicCasesPage } from "./pages/ClinicCasesPage";
import { DevicesPage } from "./pages/DevicesPage";
import { LoginPage } from "./pages/LoginPage";
import { ModelsPage } from "./pages/ModelsPage";
import { NewCasePage } from "./pages/NewCasePage";
import { SecurityPage } from "./pages/SecurityPage";
import { WorklistPage } from "./pages/WorklistPage";

// The heavy pages load on first use: the viewers (OpenSeadragon) and the charts (Chart.js).
const CasePage = lazy(() => import("./pages/CasePage").then((m) => ({ default: m.CasePage })));
const CapturePage = lazy(() => import("./pages/CapturePage").then((m) => ({ default: m.CapturePage })));
const QaPage = lazy(() => import("./pages/QaPage").then((m) => ({ default: m.QaPage })));
const SiteAdminPage = lazy(() => import("./pages/SiteAdminPage").then((m) => ({ default: m.SiteAdminPage })));

export function roleSet(me: Me): Set<string> {
  return new Set(Object.values(me.roles).flat());
}

type Section = "worklist" | "clinic" | "qa" | "models" | "site-admin";

const SECTIONS: { key: Section; label: string; path: string; roles: string[] }[] = [
  { key: "clinic", label: "Clinic", path: "/clinic", roles: ["technician", "site_admin"] },
  { key: "worklist", label: "Reading", path: "/worklist", roles: ["reader", "site_admin"] },
  { key: "qa", label: "Quality", path: "/qa", roles: ["qa_admin", "site_admin"] },
  { key: "models", label: "Models", path: "/models", roles: ["qa_admin", "site_admin"] },
  { key: "site-admin", label: "Site admin", path: "/site-admin", roles: ["site_admin"] },
];

const SECTION_OF: Partial<Record<Route["page"], Section>> = {
  worklist: "worklist", case: "worklist", clinic: "clinic", "clinic-new": "clinic", capture: "clinic", qa: "qa",
  models: "models", "site-admin": "site-admin",
};

function Page({ route, me, setMe }: { route: Route; me: Me; setMe: (me: Me) => void }) {
  switch (route.page) {
    case "worklist": return <WorklistPage />;
    case "case": return <CasePage key={route.caseId} caseId={route.caseId} me={me} />;
    case "clinic": return <ClinicCasesPage me={me} />;
    case "clinic-new": return <NewCasePage me={me} />;
    case "capture": return <CapturePage key={route.caseId} caseId={route.caseId} me={me} />;
    case "qa": return <QaPage me={me} />;
    case "models": return <ModelsPage />;
    case "site-admin": return <SiteAdminPage me={me} />;
    case "devices": return <DevicesPage me={me} />;
    case "security": return <SecurityPage me={me} onMeChanged={setMe} />;
    default: return null;
  }
}

export function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const route = useRoute();

  const loadMe = useCallback(async () => {
    const { data, response } = await api.GET("/api/v1/auth/me/");
    setMe(response.ok ? (data as Me) : null);
  }, []);
  useEffect(() => { void loadMe(); }, [loadMe]);
  useEffect(() => {
    const ended = () => setMe(null);
    window.addEventListener(SESSION_ENDED, ended);
    return () => window.removeEventListener(SESSION_ENDED, ended);
  }, []);

  const roles = me ? roleSet(me) : new Set<string>();
  const sections = SECTIONS.filter((section) => section.roles.some((role) => roles.has(role)));
  const home = route.page === "home" && sections.length > 0;
  useEffect(() => {
    if (home) window.history.replaceState(null, "", sections[0].path), window.dispatchEvent(new PopStateEvent("popstate"));
  }, [home, sections]);

  if (me === undefined) return <div className="splash">Loading…</div>;
  if (me === null) return <LoginPage onSignedIn={setMe} />;

  const logout = async () => {
    await api.POST("/api/v1/auth/logout/");
    setMe(null);
    navigate("/");
  };
  const current = SECTION_OF[route.page];
  const allowed = current === undefined || sections.some((section) => section.key === current);
  return (
    <div className="app">
      <header className="topbar">
        <Link className="brand" to="/">DermRelay</Link>
        <nav className="sections">
          {sections.map((section) => (
            <Link key={section.key} to={section.path} className={section.key === current ? "active" : undefined}>{section.label}</Link>
          ))}
        </nav>
        <span className="spacer" />
        <Link to="/account/devices" className={route.page === "devices" ? "active" : undefined}>Devices</Link>
        <Link to="/account/security" className={route.page === "security" ? "active" : undefined}>Security</Link>
        <span className="who" data-testid="who">{me.full_name || me.username} · {[...roles].sort().join(", ") || "no role"}</span>
        <button type="button" className="link" onClick={logout}>Sign out</button>
      </header>
      {me.mfa.break_glass_until ? (
        <p className="banner emergency" role="alert" data-testid="break-glass-banner">
          Emergency access without a second factor, until {new Date(me.mfa.break_glass_until).toLocaleTimeString()}: every
          action is recorded and your site administrators have been told. <Link to="/account/security">Set up an authenticator</Link>
        </p>
      ) : me.mfa.required && !me.mfa.enrolled ? (
        <p className="banner emergency" role="alert">A site you work for requires a second factor. <Link to="/account/security">Set it up now</Link></p>
      ) : null}
      <main className="content">
        {sections.length === 0 ? (
          <div className="notice">Your account holds no role at any site yet. Ask your site administrator for access.</div>
        ) : !allowed ? (
          <div className="notice" data-testid="not-allowed">
            This part of DermRelay is not open to your roles ({[...roles].join(", ") || "none"}).
          </div>
        ) : route.page === "missing" ? (
          <div className="notice">Nothing here ({route.path}). <Link to="/">Back to the start</Link></div>
        ) : (
          <Suspense fallback={<div className="splash">Loading…</div>}><Page route={route} me={me} setMe={setMe} /></Suspense>
        )}
      </main>
    </div>
  );
}
