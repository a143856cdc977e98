package io.tessera.planner.calibrate;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.catalog.Efficiency;
import io.tessera.planner.cost.CostModel;
import io.tessera.planner.memory.Layout;
import io.tessera.planner.memory.Precision;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fits the cost model of this CPU to Tessera's measured steps, and compares predictions with
 * measurements. The peaks (memory read bandwidth, matmul FLOP/s) come from {@link Probes}; the fork
 * and join of one parallel operator is timed directly ({@link StepTimer#operatorOverheadSeconds()}).
 * The model of a step is then linear in the unknowns, each term the step's seconds at the peaks
 * ({@link CostModel#terms}):
 *
 * <pre>
 *   t = step overhead + operators x fork/join + GEMM FLOPs / (peak x e_gemm) + weight bytes / (bandwidth x e_weights)
 *       + attention FLOPs / (peak x e_attention) + KV bytes / (bandwidth x e_kv) + elementwise bytes / (bandwidth x e_elem)
 * </pre>
 *
 * (no overlap between compute and memory: Tessera's kernels decode a weight row, then compute with
 * it). The step overhead and the four inverse efficiencies are fitted by non-negative least squares
 * on relative errors over steps chosen to vary each term: batch-1 decodes (weights), the same
 * through a quarter and a half of the layers (separates the per-step overhead from the per-layer cost), a
 * long-context decode and a batched one (the KV cache), prefills (GEMM FLOPs) and a chunk after a
 * long cache (attention FLOPs). The elementwise factor is not identifiable from one model (it grows
 * with tokens as the GEMM FLOPs do) and stays at {@link #ELEMENTWISE} (fp32 on one thread).
 * Validation uses other steps and other models than the fit.
 */
public final class Calibration {

    /** A step, predicted and measured. */
    public record Row(StepPlan plan, double predicted, double measured) {
        public double error() {
            return (predicted - measured) / measured;
        }
    }

    public record Result(Accelerator accelerator, List<Row> fit) {
    }

    /** Elementwise factor relative to the read probe: fp32 activations (twice the bf16 bytes), one thread. */
    public static final double ELEMENTWISE = 0.25;

    private static final int[] FITTED = {CostModel.T_STEP, CostModel.T_GEMM_FLOPS, CostModel.T_WEIGHT_BYTES,
        CostModel.T_ATTN_FLOPS, CostModel.T_KV_BYTES};

    /** The steps fitted on a model of {@code layers} layers (prefills and batches through a quarter of them). */
    public static List<StepPlan> fitSteps(int layers) {
        int q = Math.max(1, layers / 4);
        return List.of(StepPlan.decode(1, 64), StepPlan.decode(1, 64).withLayers(q),
                StepPlan.decode(1, 64).withLayers(Math.max(1, layers / 2)), StepPlan.decode(1, 2048),
                StepPlan.decode(16, 256).withLayers(q), StepPlan.decode(8, 1024).withLayers(q),
                StepPlan.prefill(64, 0).withLayers(q), StepPlan.prefill(32, 1024).withLayers(q));
    }

    /** Steps for validation, none of them fitted; the long prefill through a quarter of the layers. */
    public static List<StepPlan> validationSteps(int layers) {
        int q = Math.max(1, layers / 4);
        return List.of(StepPlan.decode(1, 256), StepPlan.decode(1, 1024), StepPlan.decode(4, 512), StepPlan.decode(8, 128),
                StepPlan.prefill(16, 0), StepPlan.prefill(8, 512), StepPlan.mixed(8, 4, 256),
                StepPlan.prefill(128, 0).withLayers(q));
    }

    private Calibration() {
    }

    public static CostModel costModel(StepTimer timer, Accelerator a, StepPlan p) {
        var shape = p.layers() > 0 && p.layers() < timer.shape().layers() ? timer.shape().withLayers(p.layers()) : timer.shape();
        return new CostModel(shape, Precision.FP32, Precision.FP32, a, Layout.of(1, 1), timer.weightBytesPerParam(),
                timer.kvBytesPerValue());
    }

    /** Measures and fits; {@code base} supplies the peaks (bandwidth and FLOP/s) from the probes. */
    public static Result calibrate(StepTimer timer, Accelerator base, int repeats) {
        double opSeconds = timer.operatorOverheadSeconds();
        List<StepPlan> steps = fitSteps(timer.shape().layers());
        double[] measured = timer.seconds(steps, repeats);
        return fit(timer, base, steps, measured, opSeconds);
    }

    /** The fit alone, on given measurements. */
    public static Result fit(StepTimer timer, Accelerator base, List<StepPlan> steps, double[] measured, double opSeconds) {
        Efficiency unit = new Efficiency(1, 1, 1, 1, 1, 0, 0, 0, base.efficiency().memoryUtilization(), 1);
        Accelerator a = base.withEfficiency(unit);
        int n = steps.size();
        double[][] x = new double[n][FITTED.length];
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            double[] t = costModel(timer, a, steps.get(i)).terms(steps.get(i).toBatch());
            double fixed = t[CostModel.T_OPS] * 1e6 * opSeconds + t[CostModel.T_ELEMENTWISE] / ELEMENTWISE
                    + t[CostModel.T_COMM];
            double w = 1 / measured[i];
            for (int j = 0; j < FITTED.length; j++) {
                x[i][j] = t[FITTED[j]] * w;
            }
            y[i] = (measured[i] - fixed) * w;
        }
        double[] theta = nnls(x, y);
        double floor = 1 / Efficiency.MAX;
        Efficiency e = new Efficiency(1 / Math.max(floor, theta[1]), 1 / Math.max(floor, theta[2]),
                1 / Math.max(floor, theta[3]), 1 / Math.max(floor, theta[4]), ELEMENTWISE, theta[0] * 1e3,
                opSeconds * 1e6, 0, base.efficiency().memoryUtilization(), base.efficiency().linkEfficiency());
        a = base.withEfficiency(e);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rows.add(new Row(steps.get(i), costModel(timer, a, steps.get(i)).seconds(steps.get(i).toBatch()), measured[i]));
        }
        return new Result(a, rows);
    }

    /**
     * Non-negative least squares, {@code min |X theta - y|} with {@code theta >= 0}, exactly: every
     * subset of free unknowns is solved unconstrained and the best non-negative solution kept (the
     * problems here have five unknowns).
     */
    static double[] nnls(double[][] x, double[] y) {
        int k = x[0].length;
        double[] best = new double[k];
        double bestErr = residual(x, y, best);
        for (int mask = 1; mask < (1 << k); mask++) {
            int[] idx = new int[Integer.bitCount(mask)];
            for (int j = 0, c = 0; j < k; j++) {
                if ((mask & (1 << j)) != 0) {
                    idx[c++] = j;
                }
            }
            double[] sub = leastSquares(x, y, idx);
            if (sub == null) {
                continue;
            }
            double[] full = new double[k];
            boolean ok = true;
            for (int c = 0; c < idx.length; c++) {
                ok &= sub[c] >= 0;
                full[idx[c]] = sub[c];
            }
            double err = ok ? residual(x, y, full) : Double.POSITIVE_INFINITY;
            if (err < bestErr) {
                bestErr = err;
                best = full;
            }
        }
        return best;
    }

    private static double residual(double[][] x, double[] y, double[] theta) {
        double s = 0;
        for (int i = 0; i < y.length; i++) {
            double r = -y[i];
            for (int j = 0; j < theta.length; j++) {
                r += x[i][j] * theta[j];
            }
            s += r * r;
        }
        return s;
    }

    /** Normal equations on the columns {@code idx}, by Gaussian elimination with pivoting; null when singular. */
    private static double[] leastSquares(double[][] x, double[] y, int[] idx) {
        int m = idx.length;
        double[][] a = new double[m][m + 1];
        for (int r = 0; r < m; r++) {
            for (int c = 0; c < m; c++) {
                for (double[] row : x) {
                    a[r][c] += row[idx[r]] * row[idx[c]];
                }
            }
            for (int i = 0; i < y.length; i++) {
                a[r][m] += x[i][idx[r]] * y[i];
            }
        }
        for (int c = 0; c < m; c++) {
            int piv = c;
            for (int r = c + 1; r < m; r++) {
                if (Math.abs(a[r][c]) > Math.abs(a[piv][c])) {
                    piv = r;
                }
            }
            double[] tmp = a[c];
            a[c] = a[piv];
            a[piv] = tmp;
            if (Math.abs(a[c][c]) < 1e-12 * Math.max(1, Math.abs(a[0][0]))) {
                return null;
            }
            for (int r = 0; r < m; r++) {
                if (r != c) {
                    double f = a[r][c] / a[c][c];
                    for (int j = c; j <= m; j++) {
                        a[r][j] -= f * a[c][j];
                    }
                }
            }
        }
        double[] out = new double[m];
        for (int r = 0; r < m; r++) {
            out[r] = a[r][m] / a[r][r];
        }
        return out;
    }

    /** Predicted against measured for each step (measured round-robin). */
    public static List<Row> validate(StepTimer timer, Accelerator calibrated, List<StepPlan> steps, int repeats) {
        return rows(timer, calibrated, steps, timer.seconds(steps, repeats));
    }

    /** Rows of predictions beside given measurements. */
    public static List<Row> rows(StepTimer timer, Accelerator calibrated, List<StepPlan> steps, double[] measured) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < steps.size(); i++) {
            StepPlan p = steps.get(i);
            rows.add(new Row(p, costModel(timer, calibrated, p).seconds(p.toBatch()), measured[i]));
        }
        return rows;
    }

    /**
     * The fit's measured milliseconds by step name, as stored by {@link #save}; empty when the file
     * has none. Validation re-measures two of these steps to see how fast the machine is now.
     */
    public static Map<String, Double> fittedMillis(Path file) throws IOException {
        Map<String, Double> out = new LinkedHashMap<>();
        for (var n : new ObjectMapper().readTree(file.toFile()).path("calibration").path("fit")) {
            out.put(n.path("step").asText(), n.path("measured_ms").asDouble());
        }
        return out;
    }

    /** The fitted steps a validation re-measures: the batch-1 decode and the prefill. */
    public static List<StepPlan> driftSteps(int layers) {
        List<StepPlan> fit = fitSteps(layers);
        return List.of(fit.get(0), fit.stream().filter(p -> p.decodeContext().length == 0).findFirst().orElseThrow());
    }

    /** The model file a calibration was measured on, or null when the file does not say. */
    public static Path calibratedModel(Path file) throws IOException {
        var node = new ObjectMapper().readTree(file.toFile()).path("calibration").path("model_file");
        return node.isTextual() ? Path.of(node.asText()) : null;
    }

    /** Writes the calibrated CPU as a one-entry accelerator catalog (usable with --catalog). */
    public static void save(Path file, Accelerator a, String note) throws IOException {
        save(file, a, note, null, List.of());
    }

    /** As above, also recording the model the fit was measured on and the fitted steps. */
    public static void save(Path file, Accelerator a, String note, Path model, List<Row> fit) throws IOException {
        Efficiency e = a.efficiency();
        Map<String, Object> eff = new LinkedHashMap<>();
        eff.put("gemm_compute", e.gemmCompute());
        eff.put("weight_stream", e.weightStream());
        eff.put("attention_prefill", e.attentionPrefill());
        eff.put("attention_decode", e.attentionDecode());
        eff.put("elementwise", e.elementwise());
        eff.put("step_overhead_ms", e.stepOverheadMs());
        eff.put("op_overhead_us", e.opOverheadUs());
        eff.put("overlap", e.overlap());
        eff.put("memory_utilization", e.memoryUtilization());
        eff.put("link_efficiency", e.linkEfficiency());
        eff.put("sources", Map.of("all", note));
        Map<String, Object> acc = new LinkedHashMap<>();
        acc.put("name", a.name());
        acc.put("aliases", a.aliases());
        acc.put("vendor", a.vendor());
        acc.put("memory_gb", a.memoryGb());
        acc.put("memory_bandwidth_gbps", a.memoryBandwidthGbps());
        acc.put("fp32_tflops", a.fp32Tflops());
        acc.put("bf16_tflops", a.bf16Tflops());
        acc.put("fp8_tflops", 0);
        acc.put("int8_tops", 0);
        acc.put("intra_node_link", a.intraNodeLink());
        acc.put("intra_node_gbps", a.intraNodeGbps());
        acc.put("inter_node_gbps", a.interNodeGbps());
        acc.put("devices_per_node", a.devicesPerNode());
        acc.put("link_latency_us", a.linkLatencyUs());
        acc.put("efficiency_profile", "calibrated");
        acc.put("sources", Map.of("memory_bandwidth_gbps, bf16_tflops, fp32_tflops",
                "measured by `tessera plan calibrate` (Probes) on " + Instant.now()));
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("about", "Calibrated CPU for `tessera plan --catalog`, written by `tessera plan calibrate`.");
        root.put("efficiency_profiles", Map.of("calibrated", eff));
        root.put("accelerators", List.of(acc));
        if (model != null) {
            Map<String, Object> cal = new LinkedHashMap<>();
            cal.put("model_file", model.toAbsolutePath().toString());
            List<Map<String, Object>> steps = new ArrayList<>();
            for (Row r : fit) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("step", r.plan().name());
                m.put("predicted_ms", r.predicted() * 1e3);
                m.put("measured_ms", r.measured() * 1e3);
                steps.add(m);
            }
            cal.put("fit", steps);
            root.put("calibration", cal);
        }
        Files.createDirectories(file.toAbsolutePath().getParent());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), root);
    }
}
