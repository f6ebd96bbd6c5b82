import { useEffect, useRef } from 'react';
import uPlot from 'uplot';

const COLORS = ['#4fc3f7', '#ffb74d', '#e57373', '#81c784', '#ba68c8', '#fff176', '#90a4ae', '#f06292'];

export interface ChartProps {
  readonly title: string;
  readonly unit: string;
  readonly names: readonly string[];
  readonly data: [number[], ...(number | null)[][]];
  /** Horizontal lines drawn across the plot (a threshold), with their label. */
  readonly lines?: readonly { value: number; label: string }[];
  readonly testId: string;
}

/**
 * A uPlot time series on a canvas. The plot is made once per set of series and fed with setData on
 * every frame (no re-layout), so four or more updates a second cost a redraw of the canvas only.
 */
export function Chart({ title, unit, names, data, lines = [], testId }: ChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const linesRef = useRef(lines);
  linesRef.current = lines;
  const key = names.join('|');

  useEffect(() => {
    if (!host.current) {
      return;
    }
    const width = Math.max(host.current.clientWidth, 280);
    const options: uPlot.Options = {
      width,
      height: 150,
      legend: { show: true },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), Math.max(1, max * 1.1)] } },
      axes: [
        { stroke: '#9aa', grid: { stroke: '#2a3038' }, ticks: { stroke: '#2a3038' } },
        { stroke: '#9aa', grid: { stroke: '#2a3038' }, ticks: { stroke: '#2a3038' }, label: unit, size: 50 },
      ],
      series: [
        {},
        ...names.map((name, i) => ({
          label: name,
          stroke: COLORS[i % COLORS.length],
          width: 1.5,
          points: { show: false },
        })),
      ],
      hooks: {
        draw: [
          (u: uPlot) => {
            const ctx = u.ctx;
            for (const line of linesRef.current) {
              const y = u.valToPos(line.value, 'y', true);
              ctx.save();
              ctx.strokeStyle = '#e53935';
              ctx.setLineDash([6, 4]);
              ctx.beginPath();
              ctx.moveTo(u.bbox.left, y);
              ctx.lineTo(u.bbox.left + u.bbox.width, y);
              ctx.stroke();
              ctx.fillStyle = '#e53935';
              ctx.fillText(line.label, u.bbox.left + 4, y - 4);
              ctx.restore();
            }
          },
        ],
      },
    };
    plot.current = new uPlot(options, data, host.current);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
    // Made anew only when the series change; data goes through setData below.
  }, [key]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  return (
    <figure className="chart" data-testid={testId}>
      <figcaption>{title}</figcaption>
      <div ref={host} />
    </figure>
  );
}
