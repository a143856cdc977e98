package io.tessera.core.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The pre-tokenizers named by GGUF's {@code tokenizer.ggml.pre}, as llama.cpp defines them: each
 * name stands for one or more regexes applied in turn (every match and every stretch between
 * matches a piece of its own), followed by GPT-2's byte-level mapping. The regexes are those of
 * the models' own tokenizer.json files, so a GGUF encodes as its tokenizer.json does. Unknown names
 * are refused, as llama.cpp refuses them: guessing would silently tokenize differently.
 */
final class GgufBpePreTokenizers {
    static final String LLAMA3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static final String QWEN2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static final String GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    static final String GPT4O = "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
            + "(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+"
            + "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static final List<String> DEEPSEEK_V3 = List.of(
            "\\p{N}{1,3}",
            "[一-龥\u3040-ゟ゠-ヿ]+",
            "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
                    + "| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");
    static final List<String> DEFAULT = List.of(
            "[\\p{P}\\$\\+<=>\\^~\\|]+",
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
            "\\p{N}+",
            "[0-9][0-9][0-9]");

    /** The names whose vocabularies were trained to be used with {@code ignore_merges}. */
    static final Set<String> LLAMA3_NAMES = Set.of("llama3", "llama-v3", "llama-bpe");

    private GgufBpePreTokenizers() {
    }

    static List<String> regexes(String pre) {
        return switch (pre) {
            case "llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral", "smaug-bpe", "dbrx" -> List.of(LLAMA3);
            case "qwen2", "deepseek-r1-qwen", "megrez" -> List.of(QWEN2);
            case "deepseek-v3" -> DEEPSEEK_V3;
            case "gpt-4o" -> List.of(GPT4O);
            case "gpt2", "gpt-2", "mpt", "olmo", "jais" -> List.of(GPT2);
            case "default" -> DEFAULT;
            default -> throw new IllegalArgumentException("tokenizer.ggml.pre '" + pre + "' is not a known "
                    + "pre-tokenizer (known: default, llama-bpe/llama3/llama-v3, qwen2, deepseek-v3, gpt-4o, gpt2 "
                    + "and a few aliases); load the model's tokenizer.json instead");
        };
    }

    static PreTokenizer forName(String pre) {
        List<PreTokenizer> steps = new ArrayList<>();
        for (String regex : regexes(pre)) {
            steps.add(new PreTokenizer.Split(new PreTokenizer.RegexFinder(OnigPattern.compile(regex)),
                    PreTokenizer.Behavior.ISOLATED, false));
        }
        steps.add(new PreTokenizer.ByteLevel(false, false));
        return new PreTokenizer.Sequence(List.copyOf(steps));
    }
}
