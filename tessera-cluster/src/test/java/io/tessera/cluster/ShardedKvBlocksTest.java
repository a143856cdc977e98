package io.tessera.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tessera.core.TestModels;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.model.Llama2cLoader;
import io.tessera.core.model.ModelConfig;
import org.junit.jupiter.api.Test;

/**
 * Re-sharding a whole-model block layer to tensor ranks: each rank gets, for every slot, the bytes
 * of its own KV heads, keys then values (stories260K: 4 KV heads of 8 values, f16: 16 bytes a head).
 */
class ShardedKvBlocksTest {

    @Test
    void eachRankGetsItsHeadsOfEverySlotKeysThenValues() throws Exception {
        ModelConfig cfg = Llama2cLoader.load(TestModels.stories260K()).config();
        assertEquals(4, cfg.kvHeads());
        int block = 16;
        ShardedKvBlocks io = new ShardedKvBlocks(cfg, KvCacheType.F16, 2, new int[] {0, cfg.layers()}, block,
                w -> null, () -> 0);
        assertEquals("f16 layers=5 kvDim=32 block=16", io.layout());
        int vector = 32 * 2;
        assertEquals(2 * block * vector, io.blockLayerBytes());
        byte[] src = new byte[3 + io.blockLayerBytes()];
        for (int i = 0; i < src.length; i++) {
            src[i] = (byte) (i * 7 + 1);
        }
        byte[] rank1 = io.slice(src, 3, 2, 2); // heads 2 and 3: bytes 32..63 of each slot's vector
        assertEquals(ShardedKvBlocks.HEADER + 2 * block * 32, rank1.length);
        for (int half = 0; half < 2; half++) {
            for (int slot = 0; slot < block; slot++) {
                for (int b = 0; b < 32; b++) {
                    int from = 3 + half * block * vector + slot * vector + 32 + b;
                    int to = ShardedKvBlocks.HEADER + half * block * 32 + slot * 32 + b;
                    assertEquals(src[from], rank1[to], "half " + half + " slot " + slot + " byte " + b);
                }
            }
        }
        assertFalse(io.readable());
        assertThrows(UnsupportedOperationException.class, () -> io.readBlockLayer(0, 0, new byte[src.length], 0));
        assertThrows(IllegalStateException.class, () -> io.writeBlockLayer(0, 0, src, 3)); // no worker connected
    }
}
