package io.tessera.engine;

import io.tessera.engine.scheduler.SchedulerConfig;
import java.util.Arrays;

/**
 * @param scheduler step limits
 * @param prefixCaching reuse cached KV blocks of common prefixes
 * @param eosTokenIds tokens that end a sample unless it ignores EOS
 */
public record EngineConfig(SchedulerConfig scheduler, boolean prefixCaching, int[] eosTokenIds) {

    public EngineConfig {
        eosTokenIds = eosTokenIds == null ? new int[0] : eosTokenIds.clone();
    }

    public static EngineConfig defaults(int... eosTokenIds) {
        return new EngineConfig(SchedulerConfig.defaults(), true, eosTokenIds);
    }

    public EngineConfig withScheduler(SchedulerConfig s) {
        return new EngineConfig(s, prefixCaching, eosTokenIds);
    }

    public EngineConfig withPrefixCaching(boolean on) {
        return new EngineConfig(scheduler, on, eosTokenIds);
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
                + "]";
    }
}
