package io.tessera.cli;

import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.tokenizer.Tokenizer;
import io.tessera.engine.scheduler.Sequence;
import io.tessera.engine.spec.DraftModelProposer;
import io.tessera.engine.spec.Drafter;
import java.io.IOException;
import java.nio.file.Path;

/** The --speculative-model file and its proposer; closing it frees both (the engine does on close). */
final class DraftModel implements Drafter, AutoCloseable {

    private final LoadedModel loaded;
    private final DraftModelProposer proposer;

    private DraftModel(LoadedModel loaded, DraftModelProposer proposer) {
        this.loaded = loaded;
        this.proposer = proposer;
    }

    /** Loads the draft and checks that its tokenizer is the model's (refused naming the file otherwise). */
    static DraftModel open(Path file, Tokenizer target, int targetVocab, Parallel parallel, KvCacheType type,
            int blockSize, int numBlocks) throws IOException {
        LoadedModel loaded = LoadedModel.open(file, null);
        try {
            DraftModelProposer.requireSameTokenizer(target, loaded.tokenizer(), file.toString());
            int vocab = Math.min(targetVocab, target.vocabSize());
            return new DraftModel(loaded, new DraftModelProposer(loaded.model(), parallel, type, blockSize, numBlocks,
                    vocab));
        } catch (RuntimeException e) {
            loaded.close();
            throw e;
        }
    }

    String describe() {
        return "draft " + loaded.model().source().getFileName() + " (" + loaded.model().config().layers() + " layers)";
    }

    @Override
    public int[] propose(Sequence seq, int k) {
        return proposer.propose(seq, k);
    }

    @Override
    public void release(Sequence seq) {
        proposer.release(seq);
    }

    @Override
    public void close() {
        proposer.close();
        loaded.close();
    }
}
