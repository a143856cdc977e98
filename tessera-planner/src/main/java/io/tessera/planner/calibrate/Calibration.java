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
 * Fits the CPU's kernel efficiencies to Tessera's measured steps, and compares predictions with
 * measurements. The peaks come from {@link Probes}; each efficiency is then fitted on the step
 * that depends on it most (decode at batch 1 for weight streaming, a prefill for GEMM compute,
 * long-context decodes for decode attention, a chunk after a long cache for prefill attention),
 * a few rounds since the parts interact. Validation uses other steps than the fit.
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

    public static final List<StepPlan> FIT_STEPS = List.of(StepPlan.decode(1, 64), StepPlan.prefill(128, 0),
            StepPlan.decode(8, 512), StepPlan.prefill(32, 512));

    public static final List<StepPlan> VALIDATION_STEPS = List.of(StepPlan.decode(1, 256), StepPlan.decode(4, 128),
            StepPlan.decode(16, 256), StepPlan.decode(32, 512), StepPlan.prefill(64, 0), StepPlan.prefill(256, 0),
            StepPlan.prefill(128, 512), StepPlan.mixed(64, 8, 256));

    private Calibration() {
    }

    public static CostModel costModel(StepTimer timer, Accelerator a) {
        return new CostModel(timer.shape(), Precision.FP32, Precision.FP32, a, Layout.of(1, 1), timer.weightBytesPerParam(),
                timer.kvBytesPerValue());
    }

    /** Measures and fits; {@code base} supplies the peaks (bandwidth and FLOP/s) from the probes. */
    public static Result calibrate(StepTimer timer, Accelerator base, int repeats) {
        double[] measured = new double[FIT_STEPS.size()];
        for (int i = 0; i < measured.length; i++) {
            measured[i] = timer.seconds(FIT_STEPS.get(i), repeats);
        }
        Efficiency e = new Efficiency(1, 1, 1, 1, 1, 0, base.efficiency().memoryUtilization(), 1);
        Accelerator a = base.withEfficiency(e);
        for (int round = 0; round < 6; round++) {
            // weight streaming: decode at batch 1, the GEMM/FFN/head parts
            CostModel.Breakdown b = costModel(timer, a).breakdown(FIT_STEPS.get(0).toBatch());
            double w = b.gemm() + b.ffn() + b.head();
            e = e.withWeightStream(clamp(e.weightStream() * w / Math.max(1e-9, measured[0] - (b.total() - w))));
            a = base.withEfficiency(e);
            // GEMM compute: a prefill
            b = costModel(timer, a).breakdown(FIT_STEPS.get(1).toBatch());
            double g = b.gemm() + b.ffn() + b.head();
            e = e.withGemmCompute(clamp(e.gemmCompute() * g / Math.max(1e-9, measured[1] - (b.total() - g))));
            a = base.withEfficiency(e);
            // decode attention
            b = costModel(timer, a).breakdown(FIT_STEPS.get(2).toBatch());
            e = e.withAttention(e.attentionPrefill(),
                    clamp(e.attentionDecode() * b.attention() / Math.max(1e-9, measured[2] - (b.total() - b.attention()))));
            a = base.withEfficiency(e);
            // prefill attention
            b = costModel(timer, a).breakdown(FIT_STEPS.get(3).toBatch());
            e = e.withAttention(clamp(e.attentionPrefill() * b.attention() / Math.max(1e-9, measured[3] - (b.total() - b.attention()))),
                    e.attentionDecode());
            a = base.withEfficiency(e);
        }
        List<Row> rows = new ArrayList<>();
        CostModel c = costModel(timer, a);
        for (int i = 0; i < measured.length; i++) {
            rows.add(new Row(FIT_STEPS.get(i), c.seconds(FIT_STEPS.get(i).toBatch()), measured[i]));
        }
        return new Result(a, rows);
    }

    private static double clamp(double v) {
        return Math.max(0.01, Math.min(4, v));
    }

    /** Predicted against measured for each step. */
    public static List<Row> validate(StepTimer timer, Accelerator calibrated, List<StepPlan> steps, int repeats) {
        CostModel c = costModel(timer, calibrated);
        List<Row> rows = new ArrayList<>();
        for (StepPlan p : steps) {
            rows.add(new Row(p, c.seconds(p.toBatch()), timer.seconds(p, repeats)));
        }
        return rows;
    }

    /** Writes the calibrated CPU as a one-entry accelerator catalog (usable with --catalog). */
    public static void save(Path file, Accelerator a, String note) throws IOException {
        Efficiency e = a.efficiency();
        Map<String, Object> eff = new LinkedHashMap<>();
        eff.put("gemm_compute", e.gemmCompute());
        eff.put("weight_stream", e.weightStream());
        eff.put("attention_prefill", e.attentionPrefill());
        eff.put("attention_decode", e.attentionDecode());
        eff.put("elementwise", e.elementwise());
        eff.put("step_overhead_ms", e.stepOverheadMs());
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
        Files.createDirectories(file.toAbsolutePath().getParent());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), root);
    }
}
