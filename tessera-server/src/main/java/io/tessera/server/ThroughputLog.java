package io.tessera.server;

import io.tessera.engine.EngineStats;
import io.tessera.engine.kv.KvStats;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The periodic engine line on the logger {@code io.tessera.server.stats}, in vLLM's words so that
 * people who read vLLM's logs read it at once:
 *
 * <pre>Avg prompt throughput: 512.0 tokens/s, Avg generation throughput: 41.3 tokens/s, Running: 3 reqs, Waiting: 0 reqs, KV cache usage: 12.5%, Prefix cache hit rate: 40.0%</pre>
 *
 * Throughputs are averages over the interval; a line is written only when the interval computed
 * tokens or requests are running or waiting, so an idle server is silent.
 */
final class ThroughputLog {

    static final Logger LOG = LoggerFactory.getLogger("io.tessera.server.stats");

    private ThroughputLog() {
    }

    /** The line for an interval of {@code seconds} between two stats, or null when the engine was idle. */
    static String line(EngineStats before, EngineStats now, double seconds) {
        long prompt = now.promptTokensComputed() - before.promptTokensComputed();
        long generated = now.generatedTokens() - before.generatedTokens();
        if (prompt == 0 && generated == 0 && now.running() == 0 && now.waiting() == 0) {
            return null;
        }
        KvStats kv = now.kv();
        return String.format(Locale.ROOT, "Avg prompt throughput: %.1f tokens/s, Avg generation throughput: %.1f"
                + " tokens/s, Running: %d reqs, Waiting: %d reqs, KV cache usage: %.1f%%, Prefix cache hit rate:"
                + " %.1f%%", prompt / seconds, generated / seconds, now.running(), now.waiting(),
                100 * ServerMetrics.kvUsage(kv), 100 * kv.hitRate());
    }
}
