package io.tessera.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tessera.engine.kv.BlockManager;
import org.junit.jupiter.api.Test;

class BlockManagerTest {

    @Test
    void cachedBlocksSurviveReleaseUntilEvictedLeastRecentlyUsedFirst() {
        BlockManager m = new BlockManager(4, 2, true);
        int[] tokens = {1, 2, 3, 4, 5, 6};
        int a = m.allocate();
        int b = m.allocate();
        m.register(a, 11, 0, tokens, 0);
        m.register(b, 12, 11, tokens, 2);
        m.setFilled(a, 2);
        m.setFilled(b, 2);
        assertEquals(2, m.usedBlocks());
        m.releaseAll(new int[] {a, b}, 2);
        assertEquals(0, m.usedBlocks());
        assertEquals(4, m.freeBlocks());
        // hit: same hash, parent and tokens
        assertEquals(a, m.lookup(11, 0, tokens, 0));
        assertEquals(1, m.refCount(a));
        // a different block content under the same hash is not a hit
        assertEquals(-1, m.lookup(12, 11, new int[] {1, 2, 9, 9}, 2));
        m.release(a);
        // free queue: the two never-used blocks, then b (released before a: tails go first), then a
        int c = m.allocate();
        int d = m.allocate();
        int e = m.allocate();
        assertEquals(b, e);
        assertEquals(-1, m.lookup(12, 11, tokens, 2), "b was evicted");
        assertEquals(a, m.lookup(11, 0, tokens, 0), "a is still cached");
        assertEquals(1, m.stats().evictions());
        m.checkConsistency();
        m.release(c);
        m.release(d);
        m.release(e);
        m.release(a);
        assertEquals(0, m.usedBlocks());
        assertThrows(IllegalStateException.class, () -> m.release(a));
        m.checkConsistency();
    }

    @Test
    void sharedBlocksNeedEveryReferenceReleased() {
        BlockManager m = new BlockManager(2, 16, false);
        int a = m.allocate();
        m.share(a);
        m.share(a);
        m.release(a);
        m.release(a);
        assertEquals(1, m.usedBlocks());
        m.release(a);
        assertEquals(0, m.usedBlocks());
        assertEquals(-1, m.lookup(1, 0, new int[16], 0), "prefix caching off");
        m.allocate();
        m.allocate();
        assertThrows(IllegalStateException.class, m::allocate);
    }

    @Test
    void wasteCountsUnfilledSlotsOfBlocksInUse() {
        BlockManager m = new BlockManager(8, 16, true);
        int a = m.allocate();
        int b = m.allocate();
        m.setFilled(a, 16);
        m.setFilled(b, 4);
        assertEquals(12.0 / 32, m.wasteFraction(), 1e-12);
        m.sample();
        assertEquals(12.0 / 32, m.stats().peakWasteFraction(), 1e-12);
    }
}
