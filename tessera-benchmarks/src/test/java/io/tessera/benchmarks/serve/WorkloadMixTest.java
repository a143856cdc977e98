package io.tessera.benchmarks.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The {@code --mix} syntax, its draws, and what hostile input gets. */
class WorkloadMixTest {

    @Test
    void parsesFractionsAndRanges() {
        WorkloadMix mix = WorkloadMix.parse("0.2:1024-2048/16, 0.8:64-128/200-256");
        assertEquals(List.of(new WorkloadMix.Entry(0.2, 1024, 2048, 16, 16),
                new WorkloadMix.Entry(0.8, 64, 128, 200, 256)), mix.entries());
        assertEquals("0.2:1024-2048/16,0.8:64-128/200-256", mix.spec());
        assertEquals(WorkloadMix.parse(mix.spec()), mix);
        assertEquals(2048 + 16, mix.longestRequest());
        // thirds written to three places add up within the tolerance
        assertEquals(3, WorkloadMix.parse("0.333:1/1,0.333:2/2,0.333:3/3").entries().size());
    }

    @Test
    void drawsEachClassByItsFractionAndLengthsInItsRanges() {
        WorkloadMix mix = WorkloadMix.parse("0.2:1024-2048/16,0.8:64-128/256");
        PromptSource prompts = PromptSource.random(mix, 512, false);
        Random rnd = new Random(5);
        int n = 20_000;
        int[] count = new int[2];
        int minIn = Integer.MAX_VALUE;
        int maxIn = 0;
        for (int i = 0; i < n; i++) {
            ServePrompt p = prompts.prompt(i, rnd);
            count[p.mixClass()]++;
            WorkloadMix.Entry e = mix.entries().get(p.mixClass());
            assertTrue(p.inputLen() >= e.inputMin() && p.inputLen() <= e.inputMax(), "input length in range");
            assertEquals(p.inputLen(), p.tokenIds().length);
            assertEquals(e.outputMin(), p.outputLen());
            if (p.mixClass() == 1) {
                minIn = Math.min(minIn, p.inputLen());
                maxIn = Math.max(maxIn, p.inputLen());
            }
            for (int t : p.tokenIds()) {
                assertTrue(t >= 3 && t < 512);
            }
        }
        assertEquals(0.2, (double) count[0] / n, 0.01);
        assertEquals(64, minIn, "both ends of a range are drawn");
        assertEquals(128, maxIn);
    }

    @Test
    void singleLengthsWithARangeRatio() {
        WorkloadMix mix = WorkloadMix.single(100, 10, 0.5);
        assertEquals(List.of(new WorkloadMix.Entry(1, 50, 150, 5, 15)), mix.entries());
        assertEquals(List.of(new WorkloadMix.Entry(1, 128, 128, 64, 64)), WorkloadMix.single(128, 64, 0).entries());
        assertEquals("--range-ratio must be in [0, 1], got 1.5",
                assertThrows(IllegalArgumentException.class, () -> WorkloadMix.single(1, 1, 1.5)).getMessage());
    }

    private static String refused(String spec) {
        return assertThrows(IllegalArgumentException.class, () -> WorkloadMix.parse(spec)).getMessage();
    }

    @Test
    void hostileInputGetsAClearError() {
        assertTrue(refused("").startsWith("--mix is empty"));
        assertTrue(refused("   ").startsWith("--mix is empty"));
        assertEquals("--mix entry 1 '0.5': expected FRACTION:INPUT/OUTPUT, e.g. 0.2:1024-2048/16", refused("0.5"));
        assertEquals("--mix entry 1 '1:10': expected FRACTION:INPUT/OUTPUT, e.g. 0.2:1024-2048/16", refused("1:10"));
        assertEquals("--mix entry 1 'abc:1/2': the fraction 'abc' is not a number", refused("abc:1/2"));
        assertEquals("--mix entry 1 'NaN:1/2': the fraction must be in (0, 1], got NaN", refused("NaN:1/2"));
        assertEquals("--mix entry 1 'Infinity:1/2': the fraction must be in (0, 1], got Infinity",
                refused("Infinity:1/2"));
        assertEquals("--mix entry 1 '1.5:1/2': the fraction must be in (0, 1], got 1.5", refused("1.5:1/2"));
        assertEquals("--mix entry 2 '-0.2:1/2': the fraction must be in (0, 1], got -0.2", refused("1:1/1,-0.2:1/2"));
        assertEquals("--mix entry 1 '0:1/2': the fraction must be in (0, 1], got 0", refused("0:1/2,1:1/1"));
        assertEquals("--mix: the fractions add up to 0.7000; they must add up to 1", refused("0.5:1/2,0.2:3/4"));
        assertEquals("--mix: the fractions add up to 1.6000; they must add up to 1", refused("0.8:1/2,0.8:3/4"));
        assertEquals("--mix entry 1 '1:0/4': the input length must be 1 to 1000000 tokens, got 0", refused("1:0/4"));
        assertEquals("--mix entry 1 '1:4/2000000': the output length must be 1 to 1000000 tokens, got 2000000",
                refused("1:4/2000000"));
        assertEquals("--mix entry 1 '1:99999999999/4': the input length '99999999999' is not a whole number of tokens",
                refused("1:99999999999/4"));
        assertEquals("--mix entry 1 '1:1e3/4': the input length '1e3' is not a whole number of tokens",
                refused("1:1e3/4"));
        assertEquals("--mix entry 1 '1:-5/4': the input length '-5' is not a whole number of tokens",
                refused("1:-5/4"));
        assertEquals("--mix entry 1 '1:10/': the output length '' is not a whole number of tokens", refused("1:10/"));
        assertEquals("--mix entry 1 '1:/4': the input length '' is not a whole number of tokens", refused("1:/4"));
        assertEquals("--mix entry 1 '1:8-2/4': the input length range 8-2 runs backwards", refused("1:8-2/4"));
        assertEquals("--mix entry 1 '1:2-/4': the input length '' is not a whole number of tokens", refused("1:2-/4"));
        assertEquals("--mix entry 1 '1:2-3-4/4': the input length '3-4' is not a whole number of tokens",
                refused("1:2-3-4/4"));
        assertEquals("--mix entry 2 '': expected FRACTION:INPUT/OUTPUT, e.g. 0.2:1024-2048/16",
                refused("0.5:1/2,,0.5:1/2"));
        assertEquals("--mix entry 1 '1:2/3/4': the output length '3/4' is not a whole number of tokens",
                refused("1:2/3/4"));
        assertEquals("--mix has 33 entries; at most 32", refused(String.join(",", java.util.Collections.nCopies(33,
                "0.03:1/1"))));
        assertEquals("--mix is longer than 4096 characters", refused("1:1/1" + " ".repeat(5000)));
    }
}
