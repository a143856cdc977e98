package io.tessera.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelLoader;
import io.tessera.engine.EngineConfig;
import io.tessera.engine.EngineCore;
import io.tessera.engine.FinishReason;
import io.tessera.engine.GenerateParams;
import io.tessera.engine.GenerateRequest;
import io.tessera.engine.RequestOutput;
import io.tessera.engine.executor.LocalExecutor;
import io.tessera.engine.scheduler.SchedulerConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real worker processes killed (SIGKILL) or frozen (SIGSTOP) in the middle of a generation: the
 * coordinator notices within a couple of seconds, the requests of the engine end with an error
 * naming the worker, nothing hangs; when the worker is back the cluster recovers and generates
 * the same tokens as the single-process engine again (the engine drops its prefix cache, which
 * pointed at the lost KV memory).
 */
class FaultTest {

    private static LocalCluster cluster;

    @TempDir
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        cluster = LocalCluster.start(2, "160m", 1);
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private record Outcome(Map<String, List<Integer>> tokens, Map<String, RequestOutput> last) {
    }

    private static Outcome submit(EngineCore core, int[][] prompts, int maxTokens, String prefix) {
        Outcome o = new Outcome(new HashMap<>(), new HashMap<>());
        for (int i = 0; i < prompts.length; i++) {
            String id = prefix + i;
            List<Integer> mine = new ArrayList<>();
            o.tokens().put(id, mine);
            core.add(new GenerateRequest(id, prompts[i], GenerateParams.greedy(maxTokens).withIgnoreEos(true)), r -> {
                for (int t : r.tokenIds()) {
                    mine.add(t);
                }
                if (r.finished()) {
                    o.last().put(id, r);
                }
            });
        }
        return o;
    }

    private static int[] ints(List<Integer> l) {
        return l.stream().mapToInt(Integer::intValue).toArray();
    }

    private void killOrFreezeMidGeneration(boolean freeze) throws Exception {
        Path model = ClusterTestSupport.tinyGqa(dir, "F32");
        killOrFreezeMidGeneration(freeze, model, ClusterConfig.of(model, 2, 1, cluster.addresses(), cluster.token(),
                KvCacheType.F32, 64, 16));
    }

    private void killOrFreezeMidGeneration(boolean freeze, Path model, ClusterConfig config) throws Exception {
        int[][] prompts = ClusterTestSupport.prompts(9, 512, 40, 33, 20);
        int[][] reference = new int[prompts.length][];
        try (Model m = ModelLoader.load(model); Parallel par = new Parallel(1);
                LocalExecutor local = new LocalExecutor(m, par, KvCacheType.F32, 16, 64)) {
            List<int[]> ref = ClusterTestSupport.greedy(local, prompts, 12).tokens();
            for (int i = 0; i < prompts.length; i++) {
                reference[i] = ref.get(i);
            }
        }
        try (DistributedExecutor ex = DistributedExecutor.connect(config)) {
            EngineCore core = new EngineCore(ex, new EngineConfig(new SchedulerConfig(64, 8, 0.01), true, new int[0]),
                    null);
            Outcome first = submit(core, prompts, 400, "a");
            for (int i = 0; i < 5; i++) {
                core.step();
            }
            long pid = cluster.processes().get(1).pid();
            long t0 = System.nanoTime();
            if (freeze) {
                new ProcessBuilder("kill", "-STOP", Long.toString(pid)).start().waitFor();
            } else {
                cluster.kill(1);
            }
            while (core.hasWork()) {
                core.step();
                assertTrue(System.nanoTime() - t0 < 15_000_000_000L, "requests still running 15 s after the fault");
            }
            double detectSeconds = (System.nanoTime() - t0) / 1e9;
            assertTrue(detectSeconds < 5, "the fault took " + detectSeconds + " s to surface");
            for (RequestOutput r : first.last().values()) {
                assertEquals(FinishReason.ERROR, r.finishReason());
                assertNotNull(r.error());
                assertTrue(r.error().contains("worker"), r.error());
            }
            assertEquals(prompts.length, first.last().size());
            assertTrue(ex.health().startsWith("cluster degraded"), ex.health());

            if (freeze) {
                new ProcessBuilder("kill", "-CONT", Long.toString(pid)).start().waitFor();
            } else {
                cluster.restart(1);
            }
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (!ex.healthy() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertTrue(ex.healthy(), ex.health());
            // the same prompts again, through the same engine: its prefix cache must not be trusted
            Outcome again = submit(core, prompts, 12, "b");
            while (core.hasWork()) {
                core.step();
            }
            for (int i = 0; i < prompts.length; i++) {
                RequestOutput r = again.last().get("b" + i);
                assertEquals(FinishReason.LENGTH, r.finishReason(), r.error());
                assertArrayEquals(reference[i], ints(again.tokens().get("b" + i)));
            }
        }
    }

    @Test
    void workerKilledMidGeneration() throws Exception {
        killOrFreezeMidGeneration(false);
    }

    @Test
    void workerFrozenMidGeneration() throws Exception {
        killOrFreezeMidGeneration(true);
    }

    /**
     * An expert-parallel rank killed in the middle of a generation: its peer, waiting for the dead
     * rank's dispatch, gives up on the coordinator's abort; every request ends with an error naming
     * the worker; after the restart the cluster is re-planned (sequences placed anew) and gives
     * one process's tokens again.
     */
    @Test
    void expertParallelRankKilledMidGeneration() throws Exception {
        Path model = ClusterTestSupport.tinyMoe(dir, "F32");
        killOrFreezeMidGeneration(false, model, new ClusterConfig(model, 1, 1, cluster.addresses(), cluster.token(),
                KvCacheType.F32, 64, 16, 1, 1, io.tessera.cluster.transport.Wire.F32, 250, 2000, 120_000, 2, null));
    }

    @Test
    void wrongTokenIsRefused() {
        ClusterConfig cfg = ClusterConfig.of(Path.of("unused"), 1, 1, cluster.addresses().subList(0, 1), "not-the-cluster-token",
                KvCacheType.F32, 4, 16);
        Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> {
            try (DistributedExecutor ignored = DistributedExecutor.connect(cfg)) {
                // not reached
            }
        });
        assertTrue(String.valueOf(e.getMessage()).contains("authentication") || e instanceof java.nio.file.NoSuchFileException,
                e.toString());
    }
}
