package io.tessera.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.engine.kv.BlockManager;
import io.tessera.engine.scheduler.ScheduledStep;
import io.tessera.engine.scheduler.Scheduler;
import io.tessera.engine.scheduler.SchedulerConfig;
import io.tessera.engine.scheduler.Sequence;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The scheduler on its own, with no model behind it: each test plays the executor's part, running
 * a step by committing it and "sampling" a token for every chunk that asks for one. What the engine
 * tests show end to end (chunked prefill, decodes first, the running limit, preemption, prefix
 * reuse, blocks returned) is checked here step by step, on the chunks the scheduler hands out.
 */
class SchedulerTest {

    private static final int BLOCK = 4;
    private long arrivals;

    private Sequence sequence(int promptLength, int firstToken) {
        int[] prompt = IntStream.range(0, promptLength).map(i -> firstToken + i).toArray();
        return new Sequence(arrivals++, 0, null, prompt, promptLength + 64, 1);
    }

    /** Runs a scheduled step: commits it and appends a token to every chunk that is sampled. */
    private static ScheduledStep run(Scheduler s) {
        ScheduledStep step = s.schedule();
        s.commit(step);
        for (ScheduledStep.Chunk c : step.chunks()) {
            if (c.sample()) {
                c.sequence().append(7);
            }
        }
        s.blocks().checkConsistency();
        return step;
    }

    private static List<Integer> lengths(ScheduledStep step) {
        return step.chunks().stream().map(ScheduledStep.Chunk::length).toList();
    }

    @Test
    void aLongPromptIsChunkedToTheBudgetAndSampledOnlyAtItsEnd() {
        Scheduler s = new Scheduler(new SchedulerConfig(16, 8, 0.0), new BlockManager(64, BLOCK, false));
        Sequence seq = sequence(40, 100);
        s.add(seq);
        ScheduledStep a = run(s);
        ScheduledStep b = run(s);
        ScheduledStep c = run(s);
        assertEquals(List.of(16), lengths(a));
        assertEquals(List.of(16), lengths(b));
        assertEquals(List.of(8), lengths(c));
        assertEquals(List.of(0, 16, 32), List.of(a.chunks().get(0).start(), b.chunks().get(0).start(),
                c.chunks().get(0).start()));
        assertFalse(a.chunks().get(0).sample() || b.chunks().get(0).sample(), "no logits in mid-prompt");
        assertTrue(c.chunks().get(0).sample());
        assertEquals(41, seq.numTokens(), "the prompt's last chunk gave the first output token");
        ScheduledStep d = run(s);
        assertEquals(List.of(1), lengths(d), "then one decode token per step");
        assertEquals(40, d.chunks().get(0).start());
    }

    @Test
    void decodesGoFirstAndANewPromptTakesWhatIsLeftOfTheBudget() {
        Scheduler s = new Scheduler(new SchedulerConfig(10, 8, 0.0), new BlockManager(64, BLOCK, false));
        Sequence first = sequence(6, 100);
        s.add(first);
        run(s); // first's prompt, it is now decoding
        Sequence second = sequence(30, 200);
        s.add(second);
        ScheduledStep step = run(s);
        assertEquals(2, step.chunks().size());
        assertEquals(first, step.chunks().get(0).sequence(), "the decode is scheduled before the new prompt");
        assertEquals(List.of(1, 9), lengths(step), "the prompt gets the budget's remaining 9 tokens");
    }

    @Test
    void noMoreThanMaxSeqsRunAndTheNextIsAdmittedWhenOneFinishes() {
        Scheduler s = new Scheduler(new SchedulerConfig(64, 2, 0.0), new BlockManager(64, BLOCK, false));
        Sequence a = sequence(5, 100);
        Sequence b = sequence(5, 200);
        Sequence c = sequence(5, 300);
        s.add(a);
        s.add(b);
        s.add(c);
        ScheduledStep step = run(s);
        assertEquals(List.of(a, b), step.chunks().stream().map(ScheduledStep.Chunk::sequence).toList());
        assertEquals(1, s.waitingCount());
        run(s);
        assertEquals(2, s.runningCount(), "c still waits while a and b decode");
        s.finish(a);
        ScheduledStep next = run(s);
        assertTrue(next.chunks().stream().anyMatch(ch -> ch.sequence() == c), "c takes a's place");
        assertEquals(0, s.waitingCount());
    }

    @Test
    void withoutBlocksTheYoungestIsPreemptedAndLaterRecomputedFromItsStart() {
        // 6 blocks of 4 tokens: two sequences of 8 prompt tokens take 2 blocks each, then grow
        Scheduler s = new Scheduler(new SchedulerConfig(64, 8, 0.0), new BlockManager(6, BLOCK, false));
        Sequence old = sequence(8, 100);
        Sequence young = sequence(8, 200);
        s.add(old);
        s.add(young);
        run(s);
        int preempted = 0;
        for (int i = 0; i < 12 && preempted == 0; i++) {
            ScheduledStep step = run(s);
            preempted = step.preempted().size();
            if (preempted > 0) {
                assertEquals(List.of(young), step.preempted(), "the youngest request gives way");
                assertEquals(Sequence.Status.WAITING, young.status());
                assertEquals(0, young.numComputed(), "its KV is dropped, to be recomputed");
                assertTrue(step.chunks().stream().allMatch(ch -> ch.sequence() == old));
            }
        }
        assertEquals(1, preempted, "the pool ran out within 12 decode steps");
        assertEquals(1, s.preemptions());
        s.finish(old);
        ScheduledStep again = run(s);
        assertEquals(young, again.chunks().get(0).sequence());
        assertEquals(0, again.chunks().get(0).start());
        assertTrue(again.chunks().get(0).length() > 8, "prompt and generated tokens recomputed in one chunk");
    }

    @Test
    void aSecondPromptTakesTheFirstsCachedBlocksButComputesItsLastToken() {
        Scheduler s = new Scheduler(new SchedulerConfig(64, 8, 0.0), new BlockManager(32, BLOCK, true));
        Sequence a = sequence(12, 100);
        s.add(a);
        run(s);
        s.finish(a); // blocks go back to the free queue, still cached
        Sequence same = sequence(12, 100);
        s.add(same);
        ScheduledStep step = run(s);
        ScheduledStep.Chunk c = step.chunks().get(0);
        assertEquals(8, c.start(), "two of three full blocks reused: the block with the last token is computed");
        assertEquals(4, c.length());
        assertEquals(8, same.cachedPromptTokens());
        Sequence other = sequence(12, 500);
        s.add(other);
        assertEquals(0, run(s).chunks().stream().filter(ch -> ch.sequence() == other).findFirst().orElseThrow()
                .start(), "another prompt finds nothing");
    }

    @Test
    void finishedSequencesReturnEveryBlock() {
        BlockManager blocks = new BlockManager(16, BLOCK, false);
        Scheduler s = new Scheduler(new SchedulerConfig(32, 8, 0.0), blocks);
        Sequence a = sequence(10, 100);
        Sequence b = sequence(3, 200);
        s.add(a);
        s.add(b);
        for (int i = 0; i < 5; i++) {
            run(s);
        }
        assertTrue(blocks.usedBlocks() > 0);
        s.finish(a);
        s.finish(b);
        assertEquals(0, blocks.usedBlocks());
        assertEquals(16, blocks.freeBlocks());
        assertFalse(s.hasWork());
    }
}
