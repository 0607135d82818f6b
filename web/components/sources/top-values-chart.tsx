'use client';

import ReactECharts from 'echarts-for-react/lib/core';
import * as echarts from 'echarts/core';
import { BarChart } from 'echarts/charts';
import { GridComponent, TooltipComponent } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';

echarts.use([BarChart, GridComponent, TooltipComponent, SVGRenderer]);

/** The most frequent values of a column in the discovery sample, as horizontal bars. */
export default function TopValuesChart({ values, label }: { values: readonly { value: string; count: number }[]; label: string }) {
  const rows = [...values].slice(0, 10).reverse();
  return (
    <div role="img" aria-label={`${label}: ${values.map((v) => `${v.value} ${v.count}`).join(', ')}`}>
      <ReactECharts
        echarts={echarts}
        opts={{ renderer: 'svg' }}
        style={{ height: Math.max(120, rows.length * 28 + 40), width: '100%' }}
        option={{
          grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
          tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
          xAxis: { type: 'value', minInterval: 1 },
          yAxis: { type: 'category', data: rows.map((r) => (r.value.length > 24 ? `${r.value.slice(0, 23)}…` : r.value)) },
          series: [{ type: 'bar', data: rows.map((r) => r.count), itemStyle: { color: '#3b5bdb' }, barMaxWidth: 18 }],
        }}
      />
    </div>
  );
}
