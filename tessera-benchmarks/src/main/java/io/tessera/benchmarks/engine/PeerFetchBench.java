package io.tessera.benchmarks.engine;

import io.tessera.cluster.kv.ClusterKvConnector;
import io.tessera.cluster.kv.KvTransferConfig;
import io.tessera.cluster.kv.LinkShaping;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Model;
import io.tessera.engine.Engine;
import io.tessera.engine.EngineConfig;
import io.tessera.engine.GenerateParams;
import io.tessera.engine.GenerateRequest;
import io.tessera.engine.RequestOutput;
import io.tessera.engine.RequestStream;
import io.tessera.engine.connector.KvTransfer;
import io.tessera.engine.executor.LocalExecutor;
import io.tessera.engine.scheduler.Scheduler;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The peer case of {@code tessera bench kv-offload}: two replicas in this process (engines over the
 * same model, each with its own KV pool and KV connector on loopback, authenticated by a random
 * token). The holder computes a prompt cold, keeping its prefix in its pool; the fetcher is then given
 * a prompt with the same prefix and a hint naming the holder, fetches the prefix's blocks over the
 * KV transfer path and computes only its own suffix. Both times are TTFTs of the async engine, from
 * submission to the first token.
 */
final class PeerFetchBench implements AutoCloseable {

    private final LocalExecutor holderExecutor;
    private final LocalExecutor fetcherExecutor;
    private final ClusterKvConnector holderConnector;
    private final ClusterKvConnector fetcherConnector;
    private final Engine holder;
    private final Engine fetcher;
    private int next;

    /**
     * @param pool KV blocks of the fetcher: room for one prompt; the holder gets twice as many and
     *     more, since pins for peers take at most half of its cache
     */
    PeerFetchBench(Model model, Parallel parallel, KvCacheType type, int blockSize, int pool)
            throws InterruptedException {
        byte[] secret = new byte[16];
        new SecureRandom().nextBytes(secret);
        String token = HexFormat.of().formatHex(secret);
        Duration timeout = Duration.ofMinutes(10);
        holderExecutor = new LocalExecutor(model, parallel, type, blockSize,
                (int) Math.ceil(pool / Scheduler.MAX_PINNED_FRACTION) + 2);
        holderConnector = new ClusterKvConnector(holderExecutor.kvBlocks(), blockSize, new KvTransferConfig(true,
                false, "127.0.0.1", 0, "127.0.0.1", timeout, LinkShaping.NONE, Set.of()), token, null);
        fetcherExecutor = new LocalExecutor(model, parallel, type, blockSize, pool);
        fetcherConnector = new ClusterKvConnector(fetcherExecutor.kvBlocks(), blockSize, new KvTransferConfig(false,
                true, "127.0.0.1", 0, "127.0.0.1", timeout, LinkShaping.NONE,
                Set.of("127.0.0.1:" + holderConnector.address().getPort())), token, null);
        EngineConfig config = EngineConfig.defaults();
        holder = new Engine(holderExecutor, config, null, holderConnector);
        fetcher = new Engine(fetcherExecutor, config, null, fetcherConnector);
    }

    /** TTFT in ms of {@code prompt} computed cold on the holder, which keeps its prefix cached. */
    double cold(int[] prompt) throws Exception {
        return ttft(holder, prompt, null);
    }

    /** TTFT in ms of {@code prompt} on the fetcher, told that the holder has its prefix. */
    double fetched(int[] prompt) throws Exception {
        return ttft(fetcher, prompt, KvTransfer.peerPrefix("bench", "127.0.0.1",
                holderConnector.address().getPort()));
    }

    /** Prompt tokens the fetcher has fetched from the holder so far. */
    long fetchedTokens() {
        return fetcherConnector.counters().get("prefix_tokens_fetched");
    }

    private double ttft(Engine engine, int[] prompt, KvTransfer hint) throws Exception {
        long start = System.nanoTime();
        RequestStream s = engine.submit(new GenerateRequest("p" + next++, prompt,
                GenerateParams.greedy(1).withIgnoreEos(true), hint));
        long first = 0;
        for (RequestOutput o; (o = s.poll(10, TimeUnit.MINUTES)) != null; ) {
            if (first == 0 && o.tokenIds().length > 0) {
                first = System.nanoTime();
            }
            if (o.isLast()) {
                break;
            }
        }
        if (first == 0) {
            throw new IllegalStateException("no first token for a benchmark prompt");
        }
        return (first - start) / 1e6;
    }

    @Override
    public void close() {
        fetcher.close();
        holder.close();
        fetcherConnector.close();
        holderConnector.close();
        fetcherExecutor.close();
        holderExecutor.close();
    }
}
