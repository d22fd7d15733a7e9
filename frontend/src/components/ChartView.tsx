/** A Chart.js chart in React: made once per config, destroyed with the component. A click on a
 * bar or point reports which dataset and which label it was, so every number can drill down. */
import {
  BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip,
  type ChartConfiguration,
} from "chart.js";
import { useEffect, useRef } from "react";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, Legend, Tooltip);
Chart.defaults.color = "#8f98a6";
Chart.defaults.borderColor = "#2c323c";
Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

interface Props {
  config: ChartConfiguration;
  label: string;
  height?: number;
  onPick?: (datasetIndex: number, index: number) => void;
  testId?: string;
}

export function ChartView({ config, label, height = 220, onPick, testId }: Props) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const pick = useRef(onPick);
  pick.current = onPick;

  useEffect(() => {
    const chart = new Chart(canvas.current!, {
      ...config,
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        ...config.options,
        onClick: (_event, elements) => {
          const hit = elements[0];
          if (hit && pick.current) pick.current(hit.datasetIndex, hit.index);
        },
        onHover: (event, elements) => {
          const target = event.native?.target as HTMLElement | undefined;
          if (target) target.style.cursor = elements.length && pick.current ? "pointer" : "default";
        },
      },
    } as ChartConfiguration);
    return () => chart.destroy();
  }, [config]);

  return (
    <div className="chart" style={{ height }} data-testid={testId}>
      <canvas ref={canvas} role="img" aria-label={label} />
    </div>
  );
}
