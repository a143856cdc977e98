package io.tessera.engine;

/** Why a sample ended. */
public enum FinishReason {
    /** Reached max tokens or the context length. */
    LENGTH("length"),
    /** Produced the end-of-sequence token. */
    EOS("stop"),
    /** Produced one of the request's stop tokens. */
    STOP_TOKEN("stop"),
    /** Its text reached one of the request's stop strings. */
    STOP_STRING("stop"),
    /** Its text completed the request's constraint (structured output) and nothing could follow. */
    CONSTRAINT_COMPLETE("stop"),
    /** Aborted by the client or at shutdown. */
    ABORTED("abort"),
    /** The step running it failed; see the output's error. */
    ERROR("error");

    private final String openAiName;

    FinishReason(String openAiName) {
        this.openAiName = openAiName;
    }

    /** The OpenAI API's name: "length", "stop", "abort" or "error". */
    public String openAiName() {
        return openAiName;
    }
}
