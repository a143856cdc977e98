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
 * @param stepOverheadMs fixed time per engine step (scheduling, sampling, buffers)
 * @param opOverheadUs fixed time per operator of a step (a kernel launch on a GPU, a fork/join of the
 *     worker threads on a CPU): a decode step of a small model is hundreds of small operators
 * @param overlap how much of the shorter of an operator's compute and memory times hides under the
 *     longer: 1 is the plain roofline {@code max(c, m)}, 0 is {@code c + m} (a kernel that decodes a
 *     weight row and then computes with it, as Tessera's CPU kernels do)
 * @param memoryUtilization fraction of device memory the engine may use (the rest is the runtime's)
 * @param linkEfficiency fraction of the nominal link bandwidth a collective reaches
 */
public record Efficiency(double gemmCompute, double weightStream, double attentionPrefill, double attentionDecode,
                         double elementwise, double stepOverheadMs, double opOverheadUs, double overlap,
                         double memoryUtilization, double linkEfficiency) {

    /** The plain roofline with no per-operator cost, as older catalogs describe it. */
    public Efficiency(double gemmCompute, double weightStream, double attentionPrefill, double attentionDecode,
                      double elementwise, double stepOverheadMs, double memoryUtilization, double linkEfficiency) {
        this(gemmCompute, weightStream, attentionPrefill, attentionDecode, elementwise, stepOverheadMs, 0, 1,
                memoryUtilization, linkEfficiency);
    }

    /**
     * Largest factor accepted. Factors above 1 are legitimate on a CPU, where the peaks are probe
     * measurements and data an operator re-reads may come from cache; a fitted term that costs
     * nothing measurable sits at this bound.
     */
    public static final double MAX = 1000;

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
        if (opOverheadUs < 0) {
            throw new IllegalArgumentException("op_overhead_us must not be negative");
        }
        if (!(overlap >= 0 && overlap <= 1)) {
            throw new IllegalArgumentException("overlap must be in [0, 1], got " + overlap);
        }
    }

    private static void check(String name, double v) {
        if (!(v > 0 && v <= MAX)) {
            throw new IllegalArgumentException("efficiency " + name + " must be in (0, " + (int) MAX + "], got " + v);
        }
    }

    public Efficiency withGemmCompute(double v) {
        return new Efficiency(v, weightStream, attentionPrefill, attentionDecode, elementwise, stepOverheadMs,
                opOverheadUs, overlap, memoryUtilization, linkEfficiency);
    }

    public Efficiency withWeightStream(double v) {
        return new Efficiency(gemmCompute, v, attentionPrefill, attentionDecode, elementwise, stepOverheadMs,
                opOverheadUs, overlap, memoryUtilization, linkEfficiency);
    }

    public Efficiency withAttention(double prefill, double decode) {
        return new Efficiency(gemmCompute, weightStream, prefill, decode, elementwise, stepOverheadMs,
                opOverheadUs, overlap, memoryUtilization, linkEfficiency);
    }

    public Efficiency withElementwise(double v) {
        return new Efficiency(gemmCompute, weightStream, attentionPrefill, attentionDecode, v, stepOverheadMs,
                opOverheadUs, overlap, memoryUtilization, linkEfficiency);
    }

    public Efficiency withStepOverheadMs(double v) {
        return new Efficiency(gemmCompute, weightStream, attentionPrefill, attentionDecode, elementwise, v,
                opOverheadUs, overlap, memoryUtilization, linkEfficiency);
    }

    public Efficiency withOpOverheadUs(double v) {
        return new Efficiency(gemmCompute, weightStream, attentionPrefill, attentionDecode, elementwise, stepOverheadMs,
                v, overlap, memoryUtilization, linkEfficiency);
    }

    public Efficiency withOverlap(double v) {
        return new Efficiency(gemmCompute, weightStream, attentionPrefill, attentionDecode, elementwise, stepOverheadMs,
                opOverheadUs, v, memoryUtilization, linkEfficiency);
    }
}
