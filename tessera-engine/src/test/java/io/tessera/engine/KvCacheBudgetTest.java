package io.tessera.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.forward.KvCacheType;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.RopeStyle;
import io.tessera.engine.kv.KvCacheBudget;
import org.junit.jupiter.api.Test;

class KvCacheBudgetTest {

    private static final long GIB = 1L << 30;
    /** 16 layers × 512 KV values × K and V × 2 bytes: 32 KiB per token in F16. */
    private static final ModelConfig CONFIG = new ModelConfig("llama", 2048, 8192, 16, 32, 8, 64, 32000, 8192, 10000f,
            RopeStyle.NEOX, 1e-5f);
    private static final long PER_TOKEN = 32 * 1024;

    @Test
    void automaticSizeHoldsMaxSeqsFullContextsWhenThatIsLessThanTheFraction() {
        KvCacheBudget b = KvCacheBudget.choose(CONFIG, KvCacheType.F16, 16, null, 0.25, 4, 2048, 2 * GIB, 24 * GIB);
        assertEquals(4 * 2048 * PER_TOKEN, b.bytes(), "4 sequences of 2048 tokens: 256 MiB, not 5.5 GiB");
        assertEquals(4 * 2048, b.tokens());
        assertTrue(b.reason().contains("--max-seqs 4"), b.reason());
        assertTrue(b.warnings().isEmpty(), b.warnings().toString());
    }

    @Test
    void automaticSizeStopsAtTheFractionOfWhatTheWeightsLeave() {
        KvCacheBudget b = KvCacheBudget.choose(CONFIG, KvCacheType.F16, 16, null, 0.25, 256, 8192, 16 * GIB, 24 * GIB);
        long share = 2 * GIB; // a quarter of 24 − 16 GiB
        assertEquals(share / (16 * PER_TOKEN) * 16 * PER_TOKEN, b.bytes());
        assertTrue(b.reason().contains("--kv-cache-fraction"), b.reason());
    }

    @Test
    void aCacheBelowOneContextIsWarnedAboutAndTheWarningSaysWhatWouldFit() {
        KvCacheBudget b = KvCacheBudget.choose(CONFIG, KvCacheType.F16, 16, 64L << 20, 0.25, 4, 8192, GIB, 24 * GIB);
        assertEquals(2048, b.tokens(), "64 MiB at 32 KiB per token");
        assertEquals(1, b.warnings().size());
        String w = b.warnings().get(0);
        assertTrue(w.contains("2048 tokens") && w.contains("8192") && w.contains("--kv-cache-memory 256.0 MiB"), w);
    }

    @Test
    void moreThanTheMachineHasIsRefusedAndMoreThanTheWeightsLeaveIsWarned() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KvCacheBudget.choose(CONFIG,
                KvCacheType.F16, 16, 32 * GIB, 0.25, 4, 2048, GIB, 24 * GIB));
        assertTrue(e.getMessage().contains("--kv-cache-memory 32.00 GiB is more than this machine's memory"),
                e.getMessage());
        KvCacheBudget b = KvCacheBudget.choose(CONFIG, KvCacheType.F16, 16, 20 * GIB, 0.25, 4, 2048, 8 * GIB, 24 * GIB);
        assertTrue(b.warnings().stream().anyMatch(w -> w.contains("will page")), b.warnings().toString());
    }

    @Test
    void aBudgetWithoutOneBlockAndBadArgumentsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> KvCacheBudget.choose(CONFIG, KvCacheType.F16, 16,
                1000L, 0.25, 4, 2048, GIB, 24 * GIB));
        assertThrows(IllegalArgumentException.class, () -> KvCacheBudget.choose(CONFIG, KvCacheType.F16, 16,
                null, 0, 4, 2048, GIB, 24 * GIB));
        assertThrows(IllegalArgumentException.class, () -> KvCacheBudget.choose(CONFIG, KvCacheType.F16, 16,
                null, 0.25, 0, 2048, GIB, 24 * GIB));
    }

    @Test
    void sizesAreWholeBlocks() {
        KvCacheBudget b = KvCacheBudget.choose(CONFIG, KvCacheType.F32, 16, null, 0.25, 3, 100, GIB, 24 * GIB);
        assertEquals(3 * 112 * 2 * PER_TOKEN, b.bytes(), "100 tokens take 7 blocks of 16; F32 doubles the bytes");
    }
}
