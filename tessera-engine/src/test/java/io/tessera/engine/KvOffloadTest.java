package io.tessera.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Model;
import io.tessera.core.sampling.LogProbs;
import io.tessera.engine.executor.LocalExecutor;
import io.tessera.engine.kv.KvOffloadConfig;
import io.tessera.engine.kv.KvStats;
import io.tessera.engine.kv.KvTierStats;
import io.tessera.engine.scheduler.SchedulerConfig;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Evicted prefix blocks kept in the tiers below the pool (off-heap memory, a directory) and
 * brought back on a prefix hit: the same greedy tokens and log-probabilities as a cold run, the
 * prefix not recomputed, the tiers within their bounds, damaged files a miss.
 */
class KvOffloadTest {

    static final int BLOCK = 16;
    /** Blocks of the pool: a filler prompt of {@link #FILLER_LEN} tokens takes all of them. */
    static final int POOL = 12;
    static final int PREFIX_LEN = 64; // 4 full blocks
    static final int SUFFIX_LEN = 8;
    static final int FILLER_LEN = 180;
    static final int MAX_TOKENS = 8;

    static Parallel parallel;
    static Model model;
    static int[] prompt;
    static Run cold;

    @BeforeAll
    static void load() throws IOException {
        parallel = new Parallel(2);
        model = TestModelsEngine.stories();
        int vocab = model.config().vocabSize();
        int[][] p = TestModelsEngine.prompts(7, vocab, PREFIX_LEN + SUFFIX_LEN);
        prompt = p[0];
        try (LocalExecutor ex = new LocalExecutor(model, parallel, KvCacheType.F16, BLOCK, POOL)) {
            cold = new Tiered(ex).run("cold", prompt);
        }
    }

    @AfterAll
    static void close() {
        model.close();
        parallel.close();
    }

    /** One request's output: tokens, log-probabilities, and the prompt tokens the engine computed for it. */
    record Run(int[] tokens, List<LogProbs> logprobs, long promptTokensComputed) {
    }

    /** An engine over one executor, its requests run one at a time to the end. */
    static final class Tiered {
        final LocalExecutor executor;
        final EngineCore core;
        int fillers;

        Tiered(LocalExecutor executor) {
            this.executor = executor;
            this.core = new EngineCore(executor, new EngineConfig(new SchedulerConfig(256, 8, 0.01), true, new int[0]),
                    null);
        }

        Run run(String id, int[] tokens) {
            long before = core.stats().promptTokensComputed();
            List<Integer> out = new ArrayList<>();
            List<LogProbs> lps = new ArrayList<>();
            core.add(new GenerateRequest(id, tokens, GenerateParams.greedy(MAX_TOKENS).withIgnoreEos(true)
                    .withLogprobs(5)), o -> {
                        for (int t : o.tokenIds()) {
                            out.add(t);
                        }
                        lps.addAll(o.logprobs());
                    });
            for (int i = 0; i < 10_000 && core.hasWork(); i++) {
                core.step();
                core.blocks().checkConsistency();
            }
            assertFalse(core.hasWork(), "the request did not finish");
            assertEquals(0, core.blocks().usedBlocks(), "blocks still held after the request ended");
            return new Run(out.stream().mapToInt(Integer::intValue).toArray(), lps,
                    core.stats().promptTokensComputed() - before);
        }

        /** A prompt of other tokens that takes the whole pool, evicting every cached block. */
        void fill() {
            int[] filler = TestModelsEngine.prompts(1000 + fillers, model.config().vocabSize(), FILLER_LEN)[0];
            run("filler-" + fillers++, filler);
        }

        KvStats kv() {
            return core.kvStats();
        }

        KvTierStats tier(String name) {
            return kv().offloadTiers().stream().filter(t -> t.tier().equals(name)).findFirst().orElseThrow();
        }
    }

    static void assertSameAsCold(Run r) {
        assertSameRun(cold, r);
    }

    static void assertSameRun(Run cold, Run r) {
        assertArrayEquals(cold.tokens(), r.tokens(), "greedy tokens differ from the cold run");
        assertEquals(cold.logprobs().size(), r.logprobs().size());
        for (int i = 0; i < cold.logprobs().size(); i++) {
            LogProbs a = cold.logprobs().get(i);
            LogProbs b = r.logprobs().get(i);
            assertEquals(Float.floatToIntBits(a.logprob()), Float.floatToIntBits(b.logprob()), "logprob at " + i);
            assertArrayEquals(a.topIds(), b.topIds(), "top ids at " + i);
            assertArrayEquals(a.topLogprobs(), b.topLogprobs(), "top logprobs at " + i);
        }
    }

    static long blockBytes(LocalExecutor ex) {
        return ex.cache().blockContentBytes();
    }

    static LocalExecutor executor(KvOffloadConfig offload) {
        return new LocalExecutor(model, parallel, KvCacheType.F16, BLOCK, POOL, offload);
    }

    @Test
    @Timeout(60)
    void aPrefixEvictedToMemoryComesBackBitIdenticalWithoutRecomputation() {
        long bytes;
        try (LocalExecutor probe = new LocalExecutor(model, parallel, KvCacheType.F16, BLOCK, 1)) {
            bytes = blockBytes(probe);
        }
        try (LocalExecutor ex = executor(new KvOffloadConfig(64 * bytes, null, 0))) {
            Tiered t = new Tiered(ex);
            assertSameAsCold(t.run("first", prompt));
            t.fill();
            Run again = t.run("again", prompt);
            assertSameAsCold(again);
            assertEquals(PREFIX_LEN / BLOCK, t.tier("memory").hits(), "prefix blocks restored from memory");
            assertEquals(PREFIX_LEN / BLOCK, t.kv().restoredBlocks());
            // the cold run computes every prompt token but the last (its logits come with the first output);
            // the restored run computes only what follows the prefix
            assertEquals(prompt.length - 1, cold.promptTokensComputed());
            assertEquals(prompt.length - PREFIX_LEN - 1, again.promptTokensComputed());
        }
    }

    @Test
    @Timeout(60)
    void aPrefixEvictedToDiskComesBackBitIdenticalAndTheFilesGoAtClose(@TempDir Path dir) throws IOException {
        try (LocalExecutor ex = executor(new KvOffloadConfig(0, dir, 1L << 30))) {
            Tiered t = new Tiered(ex);
            t.run("first", prompt);
            t.fill();
            assertTrue(blockFiles(dir).size() >= PREFIX_LEN / BLOCK, "evicted blocks were written to the directory");
            Run again = t.run("again", prompt);
            assertSameAsCold(again);
            assertEquals(PREFIX_LEN / BLOCK, t.tier("disk").hits());
            assertEquals(prompt.length - PREFIX_LEN - 1, again.promptTokensComputed());
        }
        assertEquals(List.of(), blockFiles(dir), "closing the executor deletes its block files");
    }

    @Test
    @Timeout(60)
    void memorySpillsItsLeastRecentlyUsedBlocksToDiskAndBothServeTheSamePrefix(@TempDir Path dir) {
        long bytes;
        try (LocalExecutor probe = new LocalExecutor(model, parallel, KvCacheType.F16, BLOCK, 1)) {
            bytes = blockBytes(probe);
        }
        try (LocalExecutor ex = executor(new KvOffloadConfig(2 * bytes, dir, 1L << 30))) {
            Tiered t = new Tiered(ex);
            t.run("first", prompt);
            t.fill(); // the prefix's tail is evicted first, so its head stays in memory and its tail spills to disk
            Run again = t.run("again", prompt);
            assertSameAsCold(again);
            assertTrue(t.tier("memory").hits() > 0, "some prefix blocks came from memory");
            assertTrue(t.tier("disk").hits() > 0, "some prefix blocks came from disk");
            assertEquals(PREFIX_LEN / BLOCK, t.tier("memory").hits() + t.tier("disk").hits());
            assertEquals(prompt.length - PREFIX_LEN - 1, again.promptTokensComputed());
        }
    }

    @Test
    @Timeout(60)
    void bothTiersStayWithinTheirBounds(@TempDir Path dir) throws IOException {
        long bytes;
        try (LocalExecutor probe = new LocalExecutor(model, parallel, KvCacheType.F16, BLOCK, 1)) {
            bytes = blockBytes(probe);
        }
        long memoryBound = 3 * bytes + bytes / 2; // room for 3 blocks
        long diskBound = 5 * (bytes + 200); // room for 5 files (header and checksum included)
        try (LocalExecutor ex = executor(new KvOffloadConfig(memoryBound, dir, diskBound))) {
            Tiered t = new Tiered(ex);
            for (int i = 0; i < 4; i++) {
                t.fill();
                KvTierStats memory = t.tier("memory");
                KvTierStats disk = t.tier("disk");
                assertTrue(memory.storedBytes() <= memoryBound && memory.blocks() <= 3, memory.toString());
                assertTrue(disk.storedBytes() <= diskBound && disk.blocks() <= 5, disk.toString());
                long onDisk = 0;
                for (Path f : blockFiles(dir)) {
                    onDisk += Files.size(f);
                }
                assertEquals(disk.storedBytes(), onDisk, "the directory holds what the tier counts");
                assertTrue(onDisk <= diskBound);
            }
            assertTrue(t.tier("disk").dropped() > 0, "the disk tier deleted its least recently used files");
        }
    }

    @Test
    @Timeout(60)
    void aTruncatedFileIsAMissAndThePrefixIsRecomputed(@TempDir Path dir) throws IOException {
        damagedFilesAreAMiss(dir, files -> {
            for (Path f : files) {
                try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                    ch.truncate(ch.size() / 2);
                }
            }
        });
    }

    @Test
    @Timeout(60)
    void aFileWithAFlippedByteIsAMissAndThePrefixIsRecomputed(@TempDir Path dir) throws IOException {
        damagedFilesAreAMiss(dir, files -> {
            for (Path f : files) {
                byte[] b = Files.readAllBytes(f);
                b[b.length / 2] ^= 0x10; // inside the contents: only the checksum can tell
                Files.write(f, b);
            }
        });
    }

    @Test
    @Timeout(60)
    void aFileHoldingAnotherBlockIsAMissAndThePrefixIsRecomputed(@TempDir Path dir) throws IOException {
        damagedFilesAreAMiss(dir, files -> {
            // each file takes the next one's bytes: whole, well-formed files of another block
            List<byte[]> bytes = new ArrayList<>();
            for (Path f : files) {
                bytes.add(Files.readAllBytes(f));
            }
            for (int i = 0; i < files.size(); i++) {
                Files.write(files.get(i), bytes.get((i + 1) % files.size()));
            }
        });
    }

    interface Damage {
        void apply(List<Path> files) throws IOException;
    }

    private void damagedFilesAreAMiss(Path dir, Damage damage) throws IOException {
        try (LocalExecutor ex = executor(new KvOffloadConfig(0, dir, 1L << 30))) {
            Tiered t = new Tiered(ex);
            t.run("first", prompt);
            t.fill();
            damage.apply(blockFiles(dir));
            Run again = t.run("again", prompt);
            assertSameAsCold(again);
            KvTierStats disk = t.tier("disk");
            // the prefix's first block is looked up first; its file fails, so the chain stops there
            assertEquals(1, disk.corrupt());
            assertEquals(0, disk.hits());
            assertEquals(0, t.kv().restoredBlocks());
            assertEquals(prompt.length - 1, again.promptTokensComputed(), "the whole prompt was computed");
        }
    }

    @Test
    @Timeout(30)
    void staleBlockFilesAreDeletedAtStartOtherFilesKeptAndTheDirectoryIsNotShared(@TempDir Path dir)
            throws IOException {
        Files.writeString(dir.resolve("0123-7.kvblock"), "left by an earlier run");
        Files.writeString(dir.resolve("0123-8.kvblock.tmp"), "half written");
        Files.writeString(dir.resolve("notes.txt"), "not ours");
        KvOffloadConfig config = new KvOffloadConfig(0, dir, 1L << 20);
        try (LocalExecutor ex = executor(config)) {
            assertEquals(List.of(), blockFiles(dir));
            assertTrue(Files.exists(dir.resolve("notes.txt")));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> executor(config));
            assertTrue(e.getMessage().contains("in use"), e.getMessage());
        }
        try (LocalExecutor again = executor(config)) {
            assertTrue(again.describe().contains("KV offload"), again.describe());
        }
    }

    @Test
    void badBoundsAreRefusedNamingTheProblem(@TempDir Path dir) throws IOException {
        assertThrows(IllegalArgumentException.class, () -> new KvOffloadConfig(-1, null, 0));
        assertThrows(IllegalArgumentException.class, () -> new KvOffloadConfig(0, null, 100));
        assertThrows(IllegalArgumentException.class, () -> new KvOffloadConfig(0, dir, 0));
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                () -> executor(new KvOffloadConfig(100, null, 0)));
        assertTrue(small.getMessage().contains("holds no block"), small.getMessage());
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        RuntimeException notDir = assertThrows(RuntimeException.class,
                () -> executor(new KvOffloadConfig(0, file, 1L << 20)));
        assertTrue(notDir.getMessage().contains("KV offload directory " + file) && notDir.getMessage().contains("not a directory"),
                notDir.getMessage());
    }

    /**
     * The 8-bit caches go down and come back in their own bytes, scales included: a prefix restored
     * from memory, and one restored from disk, give the tokens and log-probabilities of a cold run
     * with the same type, bit for bit, without recomputing the prefix.
     */
    @ParameterizedTest
    @EnumSource(value = KvCacheType.class, names = {"Q8_0", "INT8", "FP8_E4M3", "FP8_E5M2"})
    @Timeout(120)
    void quantizedCachesComeBackFromEitherTierAsTheyWent(KvCacheType type, @TempDir Path dir) {
        // stories260K's heads of 8 cannot hold q8_0's blocks of 32: the refusal names the head dimension
        if (!type.fitsHeadDim(model.config().headDim())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new LocalExecutor(model, parallel, type, BLOCK, POOL));
            assertTrue(e.getMessage().contains("this model's is 8"), e.getMessage());
            return;
        }
        Run typeCold;
        long bytes;
        try (LocalExecutor ex = new LocalExecutor(model, parallel, type, BLOCK, POOL)) {
            typeCold = new Tiered(ex).run("cold", prompt);
            bytes = blockBytes(ex);
        }
        assertTrue(bytes < blockBytes(KvCacheType.F16), type + " blocks are smaller than f16's");
        boolean differs = false;
        for (int i = 0; i < cold.logprobs().size(); i++) {
            differs |= cold.logprobs().get(i).logprob() != typeCold.logprobs().get(i).logprob();
        }
        assertTrue(differs, type + " rounds differently from f16: the type is in effect");
        for (KvOffloadConfig offload : List.of(new KvOffloadConfig(64 * bytes, null, 0),
                new KvOffloadConfig(0, dir, 1L << 30))) {
            try (LocalExecutor ex = new LocalExecutor(model, parallel, type, BLOCK, POOL, offload)) {
                Tiered t = new Tiered(ex);
                assertSameRun(typeCold, t.run("first", prompt));
                t.fill();
                Run again = t.run("again", prompt);
                assertSameRun(typeCold, again);
                assertEquals(PREFIX_LEN / BLOCK, t.kv().restoredBlocks(), type + " prefix blocks restored");
                assertEquals(prompt.length - PREFIX_LEN - 1, again.promptTokensComputed());
            }
        }
    }

    private static long blockBytes(KvCacheType type) {
        try (LocalExecutor probe = new LocalExecutor(model, parallel, type, BLOCK, 1)) {
            return blockBytes(probe);
        }
    }

    @Test
    @Timeout(60)
    void withoutPrefixCachingTheTiersAreNotUsed() {
        long bytes;
        try (LocalExecutor probe = new LocalExecutor(model, parallel, KvCacheType.F16, BLOCK, 1)) {
            bytes = blockBytes(probe);
        }
        try (LocalExecutor ex = executor(new KvOffloadConfig(64 * bytes, null, 0))) {
            EngineCore core = new EngineCore(ex, new EngineConfig(SchedulerConfig.defaults(), false, new int[0]), null);
            core.add(new GenerateRequest("a", prompt, GenerateParams.greedy(4).withIgnoreEos(true)), o -> { });
            for (int i = 0; i < 1000 && core.hasWork(); i++) {
                core.step();
            }
            assertEquals(List.of(), core.kvStats().offloadTiers());
        }
    }

    static List<Path> blockFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(f -> f.getFileName().toString().contains(".kvblock")).sorted().toList();
        }
    }
}
