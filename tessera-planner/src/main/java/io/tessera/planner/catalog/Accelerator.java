package io.tessera.planner.catalog;

import io.tessera.planner.memory.Precision;
import java.util.List;
import java.util.Map;

/**
 * One kind of accelerator (or CPU) as the planner sees it. Throughputs are dense (no sparsity),
 * bandwidths are per direction.
 *
 * @param name catalog name, lower case ({@code h100-sxm})
 * @param aliases other names accepted on the command line ({@code H100})
 * @param memoryGb device memory in GB (10^9 bytes, as datasheets count)
 * @param memoryBandwidthGbps memory bandwidth in GB/s
 * @param fp32Tflops dense FP32 (or TF32 tensor) throughput
 * @param bf16Tflops dense BF16/FP16 tensor throughput
 * @param fp8Tflops dense FP8 throughput; 0 when the device has no FP8 units
 * @param int8Tops dense INT8 throughput; 0 when absent
 * @param intraNodeLink the link between devices of one node (NVLink, PCIe, HCCS)
 * @param intraNodeGbps per-device, per-direction bandwidth of that link, GB/s
 * @param interNodeGbps per-device, per-direction network bandwidth between nodes, GB/s
 * @param devicesPerNode devices sharing the intra-node link
 * @param linkLatencyUs latency of one step of a collective, microseconds
 * @param efficiency the kernel efficiencies of this device
 * @param sources where each number comes from, by field name
 * @param pricePerHour rental price of one device per hour in US dollars (on-demand list price);
 *     0 when the catalog has none
 */
public record Accelerator(String name, List<String> aliases, String vendor, double memoryGb,
                          double memoryBandwidthGbps, double fp32Tflops, double bf16Tflops, double fp8Tflops,
                          double int8Tops, String intraNodeLink, double intraNodeGbps, double interNodeGbps,
                          int devicesPerNode, double linkLatencyUs, Efficiency efficiency,
                          Map<String, String> sources, double pricePerHour) {

    public Accelerator {
        aliases = aliases == null ? List.of() : List.copyOf(aliases);
        sources = sources == null ? Map.of() : Map.copyOf(sources);
        if (memoryGb <= 0 || memoryBandwidthGbps <= 0 || bf16Tflops <= 0) {
            throw new IllegalArgumentException("accelerator " + name + ": memory, bandwidth and bf16 throughput must be positive");
        }
        if (devicesPerNode < 1) {
            throw new IllegalArgumentException("accelerator " + name + ": devices_per_node must be at least 1");
        }
    }

    public boolean hasPrice() {
        return pricePerHour > 0;
    }

    public double memoryBytes() {
        return memoryGb * 1e9;
    }

    public double bandwidthBytesPerSecond() {
        return memoryBandwidthGbps * 1e9;
    }

    /**
     * Peak FLOP/s of the matrix units used for linear layers at this weight precision: fp32 at the
     * FP32 rate; bf16/fp16 at the BF16 rate; fp8 at the FP8 rate where the device has one (otherwise
     * weights are up-cast and the BF16 rate applies); int8 as W8A8 at the INT8 rate where present;
     * int4 as weight-only (W4A16) at the BF16 rate.
     */
    public double peakFlops(Precision p) {
        double tf = switch (p) {
            case FP32 -> fp32Tflops > 0 ? fp32Tflops : bf16Tflops / 2;
            case BF16, FP16, INT4 -> bf16Tflops;
            case FP8 -> fp8Tflops > 0 ? fp8Tflops : bf16Tflops;
            case INT8 -> int8Tops > 0 ? int8Tops : bf16Tflops;
        };
        return tf * 1e12;
    }

    /** Per-direction bandwidth in bytes/s of the link joining {@code group} devices. */
    public double linkBytesPerSecond(int group) {
        double gbps = group <= devicesPerNode ? intraNodeGbps : interNodeGbps;
        return gbps * 1e9 * efficiency.linkEfficiency();
    }

    public Accelerator withEfficiency(Efficiency e) {
        return new Accelerator(name, aliases, vendor, memoryGb, memoryBandwidthGbps, fp32Tflops, bf16Tflops,
                fp8Tflops, int8Tops, intraNodeLink, intraNodeGbps, interNodeGbps, devicesPerNode, linkLatencyUs, e,
                sources, pricePerHour);
    }

    public Accelerator withPeaks(double bandwidthGbps, double tflops) {
        return new Accelerator(name, aliases, vendor, memoryGb, bandwidthGbps, tflops, tflops, fp8Tflops > 0 ? tflops : 0,
                int8Tops > 0 ? tflops : 0, intraNodeLink, intraNodeGbps, interNodeGbps, devicesPerNode, linkLatencyUs,
                efficiency, sources, pricePerHour);
    }
}
