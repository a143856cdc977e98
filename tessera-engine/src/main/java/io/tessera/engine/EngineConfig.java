package io.tessera.engine;

import io.tessera.engine.scheduler.SchedulerConfig;
import io.tessera.engine.spec.SpeculativeConfig;
import java.util.Arrays;

/**
 * @param scheduler step limits
 * @param prefixCaching reuse cached KV blocks of common prefixes
 * @param eosTokenIds tokens that end a sample unless it ignores EOS
 * @param speculative speculative decoding (off by default)
 */
public record EngineConfig(SchedulerConfig scheduler, boolean prefixCaching, int[] eosTokenIds,
        SpeculativeConfig speculative) {

    public EngineConfig {
        eosTokenIds = eosTokenIds == null ? new int[0] : eosTokenIds.clone();
        speculative = speculative == null ? SpeculativeConfig.off() : speculative;
    }

    public EngineConfig(SchedulerConfig scheduler, boolean prefixCaching, int[] eosTokenIds) {
        this(scheduler, prefixCaching, eosTokenIds, SpeculativeConfig.off());
    }

    public static EngineConfig defaults(int... eosTokenIds) {
        return new EngineConfig(SchedulerConfig.defaults(), true, eosTokenIds);
    }

    public EngineConfig withScheduler(SchedulerConfig s) {
        return new EngineConfig(s, prefixCaching, eosTokenIds, speculative);
    }

    public EngineConfig withPrefixCaching(boolean on) {
        return new EngineConfig(scheduler, on, eosTokenIds, speculative);
    }

    public EngineConfig withSpeculative(SpeculativeConfig s) {
        return new EngineConfig(scheduler, prefixCaching, eosTokenIds, s);
    }

    @Override
    public int[] eosTokenIds() {
        return eosTokenIds.clone();
    }

    boolean isEos(int token) {
        for (int t : eosTokenIds) {
            if (t == token) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return "EngineConfig[" + scheduler + ", prefixCaching=" + prefixCaching + ", eos=" + Arrays.toString(eosTokenIds)
                + ", " + speculative + "]";
    }
}
