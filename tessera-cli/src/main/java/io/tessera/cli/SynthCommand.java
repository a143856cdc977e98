package io.tessera.cli;

import io.tessera.core.model.WeightTypes;
import io.tessera.core.synth.ModelShape;
import io.tessera.core.synth.SyntheticModel;
import io.tessera.core.synth.SyntheticVocabulary;
import io.tessera.core.tokenizer.Llama2cTokenizerReader;
import io.tessera.core.tokenizer.Vocabulary;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tessera synth}: a random-weight GGUF model in the exact shape of a real one. */
@Command(name = "synth", mixinStandardHelpOptions = true,
        description = "Write a random-weight model with the exact shape of a named real model, deterministic from a "
                + "seed: the workload of speed and memory benchmarks.")
final class SynthCommand implements Callable<Integer> {

    @Option(names = "--shape", required = true, paramLabel = "NAME",
            description = "Model shape: llama-3.2-1b, llama-3.2-3b, llama-3-8b, llama-2-7b, tinyllama-1.1b, "
                    + "qwen2.5-0.5b, qwen3-0.6b, tiny-gqa.")
    String shape;

    @Option(names = "--type", defaultValue = "Q8_0", paramLabel = "TYPE",
            description = "Weight type: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K, or Q4_K_M (default: ${DEFAULT-VALUE}).")
    String type;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "Take the vocabulary (and its size) from this llama2.c tokenizer file, e.g. the Llama 2 one.")
    Path tokenizer;

    @Option(names = "--vocab-size", paramLabel = "N",
            description = "Size of the generated vocabulary when no tokenizer is given (default: the model's own).")
    Integer vocabSize;

    @Option(names = "--layers", paramLabel = "N", description = "Override the layer count (default: the model's own).")
    Integer layers;

    @Option(names = "--seed", defaultValue = "42", paramLabel = "S", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = {"--out", "-o"}, required = true, paramLabel = "FILE", description = "Output GGUF file.")
    Path out;

    @Override
    public Integer call() throws Exception {
        ModelShape s = ModelShape.named(shape);
        if (layers != null) {
            s = s.withLayers(layers);
        }
        Vocabulary vocab;
        if (tokenizer != null) {
            vocab = Llama2cTokenizerReader.read(tokenizer);
        } else {
            vocab = SyntheticVocabulary.generate(vocabSize != null ? vocabSize : s.config().vocabSize(), seed);
        }
        WeightTypes types = WeightTypes.parse(type);
        long start = System.nanoTime();
        SyntheticModel.write(out, s, vocab, types, seed);
        System.err.printf("wrote %s: %s shape, %s, vocabulary %d, %s in %.1f s%n", out, s.name(), types.name(),
                vocab.size(), Units.bytes(Files.size(out)), (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
