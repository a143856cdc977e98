package io.tessera.planner.catalog;

/**
 * Fractions of peak that an engine reaches per kind of operator, plus fixed costs. A roofline
 * operator takes {@code max(flops / (peak * compute), bytes / (bandwidth * memory))}.
 *
 * @param gemmCompute fraction of peak FLOP/s reached by the linear layers (large GEMMs)
 * @param weightStream fraction of memory bandwidth reached when streaming weights (decode GEMVs)
 * @param attentionPrefill fraction of peak FLOP/s reached by prefill attention
 * @param attentionDecode fraction of memory bandwidth reached reading the KV cache in decode
 * @param elementwise fraction of memory bandwidth reached by norms, activations, rotary embedding
 * @param stepOverheadMs fixed time per engine step (scheduling, kernel launches, sampling)
 * @param memoryUtilization fraction of device memory the engine may use (the rest is the runtime's)
 * @param linkEfficiency fraction of the nominal link bandwidth a collective reaches
 */
public record Efficiency(double gemmCompute, double weightStream, double attentionPrefill, double attentionDecode,
                         double elementwise, double stepOverheadMs, double memoryUtilization, double linkEfficiency) {

    public Efficiency {
        check("gemm_compute", gemmCompute);
        check("weight_stream", weightStream);
        check("attention_prefill", attentionPrefill);
        check("attention_decode", attentionDecode);
        check("elementwise", elementwise);
        check("memory_utilization", memoryUtilization);
        check("link_efficiency", linkEfficiency);
        if (stepOverheadMs < 0) {
            throw new IllegalArgumentException("step_overhead_ms must not be negative");
        }
    }

    private static void check(String name, double v) {
        if (!(v > 0 && v <= 4)) {
            throw new IllegalArgumentException("efficiency " + name + " must be in (0, 4], got " + v);
        }
    }

    public Efficiency withGemmCompute(double v) {
        return new Efficiency(v, weightStream, attentionPrefill, attentionDecode, elementwise, stepOverheadMs,
                memoryUtilization, linkEfficiency);
    }

    public Efficiency withWeightStream(double v) {
        return new Efficiency(gemmCompute, v, attentionPrefill, attentionDecode, elementwise, stepOverheadMs,
                memoryUtilization, linkEfficiency);
    }

    public Efficiency withAttention(double prefill, double decode) {
        return new Efficiency(gemmCompute, weightStream, prefill, decode, elementwise, stepOverheadMs,
                memoryUtilization, linkEfficiency);
    }

    public Efficiency withElementwise(double v) {
        return new Efficiency(gemmCompute, weightStream, attentionPrefill, attentionDecode, v, stepOverheadMs,
                memoryUtilization, linkEfficiency);
    }

    public Efficiency withStepOverheadMs(double v) {
        return new Efficiency(gemmCompute, weightStream, attentionPrefill, attentionDecode, elementwise, v,
                memoryUtilization, linkEfficiency);
    }
}
