package io.tessera.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class GenerationLimitsTest {

    private final GenerationLimits limits = new GenerationLimits(512, 8);

    @Test
    void maxTokensZeroMeansTheRestOfTheContext() {
        assertEquals(12, limits.maxTokens(500, 0));
        assertEquals(1, limits.maxTokens(511, 0));
        assertEquals(12, limits.maxTokens(500, 12));
    }

    @Test
    void aPromptWithoutRoomForOneTokenNamesThePrompt() {
        ContextLengthExceededException e = assertThrows(ContextLengthExceededException.class,
                () -> limits.maxTokens(512, 0));
        assertEquals("prompt", e.param());
        assertEquals(512, e.contextLength());
        assertEquals(512, e.promptTokens());
        assertEquals(0, e.maxTokens());
    }

    @Test
    void tooManyRequestedTokensNameMaxTokens() {
        ContextLengthExceededException e = assertThrows(ContextLengthExceededException.class,
                () -> limits.maxTokens(500, 13));
        assertEquals("max_tokens", e.param());
        assertEquals(500, e.promptTokens());
        assertEquals(13, e.maxTokens());
        // a prompt that fills the context is named as such even when max_tokens was given
        ContextLengthExceededException full = assertThrows(ContextLengthExceededException.class,
                () -> limits.maxTokens(600, 1));
        assertEquals("max_tokens", full.param());
        assertTrue(full.getMessage().contains("at least one token must be generated"), full.getMessage());
    }

    @Test
    void samplesMustRunTogether() {
        assertEquals(8, limits.maxSamples());
        limits.checkSamples(1);
        limits.checkSamples(8);
        assertEquals("n", assertThrows(RequestRejectedException.class, () -> limits.checkSamples(9)).param());
        assertEquals("n", assertThrows(RequestRejectedException.class, () -> limits.checkSamples(0)).param());
        assertEquals(GenerateParams.MAX_N, new GenerationLimits(512, 1000).maxSamples());
    }

    @Test
    void anInputReadWholeMayFillTheContext() {
        limits.checkInput(512);
        ContextLengthExceededException e = assertThrows(ContextLengthExceededException.class,
                () -> limits.checkInput(513));
        assertEquals("prompt", e.param());
        assertEquals(513, e.promptTokens());
    }
}
