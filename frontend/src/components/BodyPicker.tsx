/** Where the lesion is: click the front or back figure, or search the ISIC list. Both give the two
 * terms a lesion stores (general and hierarchical site; the list takes the general site from the
 * server's vocabulary, the figure carries its own); the figure also gives the side. */
import { useEffect, useState } from "react";
import { api, bodyOf } from "../api/client";
import type { AnatomSiteGroup } from "../api/types";
import { BODY_REGIONS, sideNote, type BodyRegion, type View } from "../lib/anatomy";

export interface SitePick {
  anatom_site: string;
  anatom_site_general: string;
  side_note: string;
  label: string;
}

function Shape({ region, selected, onPick }: { region: BodyRegion; selected: boolean; onPick: () => void }) {
  const common = {
    className: `body-region${selected ? " selected" : ""}`, onClick: onPick, role: "button", tabIndex: 0,
    "aria-label": region.label, "data-region": region.id,
    onKeyDown: (event: React.KeyboardEvent) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); onPick(); } },
  };
  const title = <title>{region.label}</title>;
  if ("rect" in region.shape) {
    const [x, y, width, height] = region.shape.rect;
    return <rect {...common} x={x} y={y} width={width} height={height} rx={6}>{title}</rect>;
  }
  if ("ellipse" in region.shape) {
    const [cx, cy, rx, ry] = region.shape.ellipse;
    return <ellipse {...common} cx={cx} cy={cy} rx={rx} ry={ry}>{title}</ellipse>;
  }
  return <polygon {...common} points={region.shape.points}>{title}</polygon>;
}

function Figure({ view, selectedId, onPick }: { view: View; selectedId: string | null; onPick: (region: BodyRegion) => void }) {
  return (
    <figure className="body-figure">
      <svg viewBox="0 0 200 440" role="group" aria-label={`Body, ${view}`}>
        {BODY_REGIONS.filter((region) => region.view === view).map((region) => (
          <Shape key={region.id} region={region} selected={region.id === selectedId} onPick={() => onPick(region)} />
        ))}
      </svg>
      <figcaption>{view === "front" ? "Front" : "Back"}</figcaption>
    </figure>
  );
}

export function BodyPicker({ value, onChange }: { value: SitePick | null; onChange: (pick: SitePick) => void }) {
  const [groups, setGroups] = useState<AnatomSiteGroup[]>([]);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [search, setSearch] = useState("");

  useEffect(() => {
    void bodyOf<AnatomSiteGroup[]>(api.GET("/api/v1/vocabulary/anatom-sites/")).then((found) => setGroups(found ?? []));
  }, []);

  const pickRegion = (region: BodyRegion) => {
    setSelectedId(region.id);
    setSearch("");
    onChange({ anatom_site: region.anatom_site, anatom_site_general: region.anatom_site_general, side_note: sideNote(region), label: region.label });
  };
  const terms = groups.flatMap((group) => group.sites.map((site) => ({ ...site, general: group.general })));
  const pickTerm = (text: string) => {
    setSearch(text);
    const term = terms.find((candidate) => candidate.value === text || candidate.label === text);
    if (!term) return;
    setSelectedId(BODY_REGIONS.find((region) => region.anatom_site === term.value)?.id ?? null);
    onChange({ anatom_site: term.value, anatom_site_general: term.general, side_note: "", label: term.label });
  };

  return (
    <div className="body-picker">
      <div className="body-figures">
        <Figure view="front" selectedId={selectedId} onPick={pickRegion} />
        <Figure view="back" selectedId={selectedId} onPick={pickRegion} />
      </div>
      <label>Or search the list
        <input list="anatom-sites" value={search} onChange={(e) => pickTerm(e.target.value)} placeholder="e.g. Forearm, Scalp, Axilla"
          aria-label="Anatomic site search" />
        <datalist id="anatom-sites">
          {terms.map((term) => <option key={term.value} value={term.value}>{term.label}</option>)}
        </datalist>
      </label>
      <p className="small" data-testid="site-picked">
        {value ? <>Picked: <strong>{value.label}</strong> · {value.anatom_site} · <span className="muted">{value.anatom_site_general}</span>
          {value.side_note ? ` · ${value.side_note}` : ""}</> : <span className="muted">No site picked yet.</span>}
      </p>
    </div>
  );
}
