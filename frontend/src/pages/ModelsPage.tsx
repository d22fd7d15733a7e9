/** The models the platform runs: each registered version with its card (task, data, metrics and
 * how they were measured, intended use, limits, licence), whether its weights matched their hash,
 * and which analysis plan step uses it for which kind of image. */
import { useEffect, useState } from "react";
import { api } from "../api/client";
import type { Schemas } from "../api/types";
import { shortHash } from "../lib/format";

type ModelVersion = Schemas["ModelVersion"];
type PlanStep = Schemas["AnalysisPlanStep"];

interface Card {
  intended_use?: string;
  limitations?: string | string[];
  license?: string;
  labels?: string[];
  metrics?: Record<string, Record<string, number | string | null | object>>;
  training?: { data?: string | Record<string, unknown>; command?: string; seed?: number };
  input?: Record<string, unknown>;
  generalisation?: { predicts_new_data?: string; met?: boolean };
  calibration?: { temperature?: number; min_region_um2?: number; fitted_on?: string; ece_before?: number; ece_after?: number;
    interval?: { coverage?: number; mosaics?: number } };
}

const KIND_TEXT: Record<string, string> = { rcm_mosaic: "RCM mosaic", rcm_stack: "RCM stack", dermoscopy: "Dermoscopy", clinical: "Clinical photo" };

function metricText(value: unknown): string {
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(3);
  if (value && typeof value === "object" && "value" in value) return metricText((value as { value: unknown }).value);
  if (value && typeof value === "object") return JSON.stringify(value).slice(0, 60);
  return String(value ?? "—");
}

const SHORT_NAMES: Record<string, string> = {
  pixel_sensitivity: "sens.", pixel_specificity: "spec.", percent_uninformative_mae: "% MAE",
  percent_uninformative_mean_signed_error: "% signed err.", percent_uninformative_max_error: "% max err.",
  percent_uninformative_lesion_mae: "lesion % MAE", interval_coverage: "interval cov.",
};

function isScalar(value: unknown): boolean {
  return typeof value !== "object" || value === null || "value" in (value as object);
}

/** One row per split; where several splits share their figures (e.g. one per phantom family), a
 * table of splits by figure, so they read side by side. */
function Metrics({ metrics }: { metrics: Card["metrics"] }) {
  if (!metrics || !Object.keys(metrics).length) return <p className="muted small">No metrics on the card.</p>;
  const splits = Object.entries(metrics);
  const counts = new Map<string, number>();
  splits.forEach(([, values]) => Object.entries(values ?? {}).forEach(([name, value]) => {
    if (isScalar(value) && name !== "how") counts.set(name, (counts.get(name) ?? 0) + 1);
  }));
  const shared = [...counts.entries()].filter(([, n]) => n >= 2).map(([name]) => name).slice(0, 9);
  if (splits.length >= 2 && shared.length >= 3) {
    return (
      <div style={{ overflowX: "auto" }}>
        <table className="compact" data-testid="metrics-matrix"><thead><tr><th />{shared.map((name) => (
          <th key={name} className="small" title={name.replace(/_/g, " ")}>{SHORT_NAMES[name] ?? name.replace(/_/g, " ")}</th>))}</tr></thead>
          <tbody>{splits.map(([split, values]) => (
            <tr key={split}><td className="muted">{split.replace(/^family_/, "family ")}</td>{shared.map((name) => <td key={name} className="num">{metricText((values ?? {})[name])}</td>)}</tr>
          ))}</tbody></table>
      </div>
    );
  }
  return (
    <table className="compact"><tbody>
      {splits.flatMap(([split, values]) =>
        Object.entries(values ?? {}).filter(([, value]) => isScalar(value))
          .slice(0, 12).map(([name, value]) => (
            <tr key={`${split}-${name}`}><td className="muted">{split}</td><td>{name.replace(/_/g, " ")}</td><td className="num">{metricText(value)}</td></tr>
          )))}
    </tbody></table>
  );
}

function CalibrationNote({ calibration }: { calibration: Card["calibration"] }) {
  if (!calibration) return null;
  const coverage = calibration.interval?.coverage;
  return (
    <p className="small" data-testid="calibration-note"><strong>Calibration.</strong> Temperature {calibration.temperature ?? 1}
      {calibration.min_region_um2 ? `, regions under ${calibration.min_region_um2} µm² dropped` : ", no minimum region"}
      {coverage ? `; ${Math.round(coverage * 100)}% interval of the % uninformative from ${calibration.interval?.mosaics ?? "?"} mosaics` : ""}
      {calibration.ece_after != null ? `; ECE ${calibration.ece_before} before, ${calibration.ece_after} after` : ""}.
      {calibration.fitted_on ? <span className="muted"> Fitted on: {calibration.fitted_on}</span> : null}</p>
  );
}

export function ModelsPage() {
  const [models, setModels] = useState<ModelVersion[] | null>(null);
  const [plans, setPlans] = useState<PlanStep[]>([]);
  const [open, setOpen] = useState<number | null>(null);

  useEffect(() => {
    void api.GET("/api/v1/models/").then(({ data }) => setModels((data as ModelVersion[] | undefined) ?? []));
    void api.GET("/api/v1/analysis-plans/").then(({ data }) => setPlans((data as PlanStep[] | undefined) ?? []));
  }, []);

  const stepsOf = (model: ModelVersion) => plans.filter((step) => step.model === model.name && model.is_active);

  return (
    <section className="worklist models" aria-label="Models">
      <div className="toolbar"><h1>Models</h1><span className="muted">Every result in DermRelay names the model version that made it.</span></div>
      <h2 className="section-title">Analysis plans</h2>
      <table className="grid" aria-label="Analysis plans">
        <thead><tr><th>Image kind</th><th>Step</th><th>Purpose</th><th>Model</th><th>Status</th></tr></thead>
        <tbody>
          {plans.map((step) => (
            <tr key={`${step.image_kind}-${step.step}`} data-testid="plan-step">
              <td>{KIND_TEXT[step.image_kind] ?? step.image_kind}</td><td>{step.step}</td><td>{step.purpose}</td>
              <td>{step.version ? `${String((step.version as Record<string, unknown>).name)} ${String((step.version as Record<string, unknown>).version)}` : step.model}</td>
              <td><span className={`badge ${step.status === "active" ? "verdict-acceptable" : "verdict-reimage"}`}>{step.status.replace("_", " ")}</span></td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2 className="section-title">Registered versions</h2>
      {models && !models.length ? <p className="empty">No model is registered. Run the model sync.</p> : null}
      <div className="model-cards">
        {models?.map((model) => {
          const card = (model.card ?? {}) as Card;
          const limitations = Array.isArray(card.limitations) ? card.limitations.join(" ") : card.limitations;
          return (
            <article key={model.id} className="panel model-card" data-testid="model-card" data-model={model.name}>
              <h2>{model.name} <span className="muted">{model.version}</span>
                {model.is_active ? <span className="badge verdict-acceptable">active</span> : <span className="badge">inactive</span>}
                {model.status !== "ready" ? <span className="badge verdict-reimage">weights {model.status}</span> : null}</h2>
              <p className="small">{model.task} · {model.modality}</p>
              {model.status !== "ready" ? <p className="error small">{model.status_detail}</p> : null}
              {stepsOf(model).length ? <p className="small">Runs in: {stepsOf(model).map((s) => `${KIND_TEXT[s.image_kind] ?? s.image_kind} → ${s.step}`).join(", ")}</p> : null}
              <Metrics metrics={card.metrics} />
              {card.generalisation?.predicts_new_data ? (
                <p className="small" data-testid="generalisation-note"><strong>What predicts new data.</strong> {card.generalisation.predicts_new_data}
                  {card.generalisation.met === false ? " The goals on an unseen family are not met." : ""}</p>) : null}
              <CalibrationNote calibration={card.calibration} />
              {card.intended_use ? <p className="small"><strong>Intended use.</strong> {card.intended_use}</p> : null}
              {limitations ? <p className="small muted"><strong>Limitations.</strong> {limitations}</p> : null}
              <p className="small muted">Licence: {card.license ?? "—"} · weights {shortHash(model.weights_sha256)}</p>
              <button type="button" className="link small" onClick={() => setOpen(open === model.id ? null : model.id)}>
                {open === model.id ? "Hide" : "Show"} the whole card</button>
              {open === model.id ? <pre className="card-json">{JSON.stringify(model.card, null, 2)}</pre> : null}
            </article>
          );
        })}
      </div>
    </section>
  );
}
