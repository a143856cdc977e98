package io.tessera.cli;

import io.tessera.core.format.Units;
import io.tessera.core.gguf.GgufWriter;
import io.tessera.core.model.QuantizingTensorSource;
import java.util.Locale;

/**
 * A progress line on stderr for work that takes minutes on real models (convert, quantize at
 * load): at most one line every few seconds, and the last step always, so that a log shows the
 * work is moving without a line per tensor.
 */
final class ProgressLine implements GgufWriter.Progress, QuantizingTensorSource.Progress {

    private static final long INTERVAL_NANOS = 3_000_000_000L;

    private final String what;
    private final long start;
    private long lastPrinted;

    ProgressLine(String what, long startNanos) {
        this.what = what;
        this.start = startNanos;
        this.lastPrinted = startNanos;
    }

    @Override
    public void tensorWritten(int done, int count, String name, long bytesDone, long bytesTotal) {
        if (due(done == count)) {
            print(String.format(Locale.ROOT, "%d/%d tensors, %s of %s (%d%%)", done, count, Units.bytes(bytesDone),
                    Units.bytes(bytesTotal), bytesTotal == 0 ? 100 : 100 * bytesDone / bytesTotal));
        }
    }

    @Override
    public void quantized(int matrices, int layer, int layers, long bytesWritten) {
        if (due(false)) {
            print(String.format(Locale.ROOT, "%d matrices%s, %s", matrices,
                    layer >= 0 ? " (layer " + (layer + 1) + " of " + layers + ")" : "", Units.bytes(bytesWritten)));
        }
    }

    private boolean due(boolean last) {
        long now = System.nanoTime();
        if (last || now - lastPrinted >= INTERVAL_NANOS) {
            lastPrinted = now;
            return true;
        }
        return false;
    }

    private void print(String status) {
        System.err.printf(Locale.ROOT, "%s: %s, %.0f s%n", what, status, (System.nanoTime() - start) / 1e9);
    }
}
