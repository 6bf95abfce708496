#!/usr/bin/env python3
"""Train and export twinkle's built-in model: a small Llama-style decoder for Go source.

Stages, all in this one script (see README.md beside it for the commands and results):
  1. tokenizer: a byte-level BPE (Hugging Face `tokenizers`) trained on the train split,
     special token <|endoftext|> = id 0, the file separator and EOS.
  2. tokenize both splits (files joined by id 0).
  3. train: RMSNorm, rotary (rotate-half), SwiGLU, grouped-query attention, tied embeddings,
     no biases; bf16 autocast, torch.compile, AdamW, warm-up then cosine (by steps or by wall
     time), dropout, held-out evaluation with the best checkpoint kept and early stopping.
  4. export: model.safetensors (f16, metadata as this folder's README describes),
     tokenizer.json, testvectors.json (float32 forward of the f16-rounded weights on CPU),
     result.json; prints held-out bits per byte and greedy completions.

Needs torch, numpy and tokenizers (safetensors only to double-check the file it writes).
`--device cpu --tiny` runs a few steps of a tiny model end to end as a smoke test.
"""

import argparse
import json
import lzma
import math
import os
import platform
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

EOT = "<|endoftext|>"
FORMAT = "twinkle-llama-v1"
LN2 = math.log(2.0)


def log(msg):
    print(msg, flush=True)


# ----------------------------------------------------------------------------- model


class Config:
    def __init__(self, vocab_size, dim, n_layers, n_heads, n_kv_heads, ffn_dim, max_seq_len,
                 rope_theta=10000.0, norm_eps=1e-5, dropout=0.0):
        if dim % n_heads or n_heads % n_kv_heads or (dim // n_heads) % 2:
            raise ValueError(f"bad shape: dim {dim}, heads {n_heads}, kv heads {n_kv_heads}")
        self.vocab_size, self.dim, self.n_layers = vocab_size, dim, n_layers
        self.n_heads, self.n_kv_heads, self.ffn_dim = n_heads, n_kv_heads, ffn_dim
        self.max_seq_len, self.rope_theta, self.norm_eps = max_seq_len, rope_theta, norm_eps
        self.dropout = dropout

    @property
    def head_dim(self):
        return self.dim // self.n_heads


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (xf * self.weight.float()).type_as(x)


def rope_tables(head_dim, length, theta):
    # Pair j (of head_dim/2) turns at pos * theta^(-2j/head_dim); computed in float64 so the
    # tables are as exact as float32 allows, like the Go side's.
    inv = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    ang = torch.outer(torch.arange(length, dtype=torch.float64), inv)
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos().float(), ang.sin().float()


def apply_rope(x, cos, sin):
    # rotate-half: (v[j], v[j+hd/2]) is the pair that turns together.
    xf = x.float()
    half = xf.shape[-1] // 2
    rot = torch.cat([-xf[..., half:], xf[..., :half]], dim=-1)
    return (xf * cos + rot * sin).type_as(x)


def causal_attention(q, k, v, dropout_p):
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=dropout_p)
    # Older torch (only for local smoke tests): the same maths spelled out.
    T = q.shape[-2]
    att = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    mask = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()
    att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
    if dropout_p > 0:
        att = F.dropout(att, dropout_p)
    return att @ v


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_heads, self.n_kv_heads, self.head_dim = c.n_heads, c.n_kv_heads, c.head_dim
        self.wq = nn.Linear(c.dim, c.n_heads * c.head_dim, bias=False)
        self.wk = nn.Linear(c.dim, c.n_kv_heads * c.head_dim, bias=False)
        self.wv = nn.Linear(c.dim, c.n_kv_heads * c.head_dim, bias=False)
        self.wo = nn.Linear(c.n_heads * c.head_dim, c.dim, bias=False)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        q = self.wq(x).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.wk(x).view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)
        v = self.wv(x).view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        rep = self.n_heads // self.n_kv_heads
        if rep > 1:
            # query head h reads kv head h // rep
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        y = causal_attention(q, k, v, 0.0)
        y = y.transpose(1, 2).reshape(B, T, self.n_heads * self.head_dim)
        return self.drop(self.wo(y))


class FeedForward(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.w1 = nn.Linear(c.dim, c.ffn_dim, bias=False)  # gate
        self.w3 = nn.Linear(c.dim, c.ffn_dim, bias=False)  # up
        self.w2 = nn.Linear(c.ffn_dim, c.dim, bias=False)  # down
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x):
        return self.drop(self.w2(F.silu(self.w1(x)) * self.w3(x)))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention_norm = RMSNorm(c.dim, c.norm_eps)
        self.attention = Attention(c)
        self.ffn_norm = RMSNorm(c.dim, c.norm_eps)
        self.feed_forward = FeedForward(c)

    def forward(self, x, cos, sin):
        h = x + self.attention(self.attention_norm(x), cos, sin)
        return h + self.feed_forward(self.ffn_norm(h))


class Transformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.tok_embeddings = nn.Embedding(c.vocab_size, c.dim)
        self.drop = nn.Dropout(c.dropout)
        self.layers = nn.ModuleList(Block(c) for _ in range(c.n_layers))
        self.norm = RMSNorm(c.dim, c.norm_eps)
        cos, sin = rope_tables(c.head_dim, c.max_seq_len, c.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init)
        # GPT-2's scaled init of the projections that write into the residual stream.
        for name, p in self.named_parameters():
            if name.endswith("wo.weight") or name.endswith("w2.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * c.n_layers))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def forward(self, idx):
        T = idx.shape[1]
        if T > self.config.max_seq_len:
            raise ValueError(f"sequence of {T} tokens exceeds max_seq_len {self.config.max_seq_len}")
        cos, sin = self.rope_cos[:T], self.rope_sin[:T]
        x = self.drop(self.tok_embeddings(idx))
        for layer in self.layers:
            x = layer(x, cos, sin)
        # Tied embeddings: the output head is the embedding matrix.
        return F.linear(self.norm(x), self.tok_embeddings.weight)


def count_params(model):
    total = sum(p.numel() for p in model.parameters())
    emb = model.tok_embeddings.weight.numel()
    return total, total - emb


# ----------------------------------------------------------------------------- data


def read_split(corpus, name):
    path = os.path.join(corpus, name + ".txt.xz")
    if not os.path.exists(path):
        sys.exit(f"train.py: {path} is missing; run prepare_corpus.py first")
    with lzma.open(path, "rb") as f:
        docs = f.read().decode("utf-8").split(EOT)
    return [d for d in docs if d]


def train_tokenizer(docs, vocab_size):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    # GPT-2's byte-level scheme with its regex, no normalizer, no prefix space: the Go engine
    # reimplements exactly this (model-contract.md).
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[EOT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(docs, trainer=trainer, length=len(docs))
    if tok.token_to_id(EOT) != 0:
        raise RuntimeError(f"{EOT} got id {tok.token_to_id(EOT)}, want 0")
    return tok


def load_tokenizer(path):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(path)


def encode_docs(tok, docs):
    """Token ids of docs, each followed by EOT (id 0), as one uint16 stream."""
    parts = []
    sep = np.zeros(1, dtype=np.uint16)
    for enc in tok.encode_batch(docs):
        parts.append(np.asarray(enc.ids, dtype=np.uint16))
        parts.append(sep)
    return np.concatenate(parts)


def token_byte_lengths(tok):
    """Bytes each token stands for: a byte-level token has one character per byte."""
    vocab = tok.get_vocab()
    table = np.zeros(len(vocab), dtype=np.int64)
    for s, i in vocab.items():
        table[i] = 0 if s == EOT else len(s)
    return table


def windows(ids, T):
    """Rows of T+1 tokens covering every target of ids once; mask marks targets to count."""
    N = len(ids)
    if N < T + 1:
        raise ValueError(f"{N} tokens is fewer than one window of {T + 1}")
    starts = list(range(0, N - T, T))
    rows = [ids[s:s + T + 1] for s in starts]
    masks = [np.ones(T, dtype=np.float32) for _ in starts]
    covered = starts[-1] + T  # index of the last target already counted
    if covered < N - 1:
        s = N - 1 - T
        rows.append(ids[s:s + T + 1])
        masks.append((np.arange(s + 1, s + T + 1) > covered).astype(np.float32))
    return (torch.from_numpy(np.stack(rows).astype(np.int64)),
            torch.from_numpy(np.stack(masks)))


# ----------------------------------------------------------------------------- evaluation


@torch.no_grad()
def evaluate(model, rows, masks, tok_bytes, batch, autocast):
    """Mean loss (nats/token) and bits per byte of the targets that masks select."""
    was_training = model.training
    model.eval()
    nats = torch.zeros((), dtype=torch.float64, device=rows.device)
    nbytes = torch.zeros((), dtype=torch.float64, device=rows.device)
    ntok = torch.zeros((), dtype=torch.float64, device=rows.device)
    for i in range(0, rows.shape[0], batch):
        w, m = rows[i:i + batch], masks[i:i + batch]
        x, y = w[:, :-1], w[:, 1:]
        with autocast():
            logits = model(x)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1),
                               reduction="none").view_as(y)
        nats += (loss.double() * m).sum()
        nbytes += (tok_bytes[y].double() * m).sum()
        ntok += m.double().sum()
    if was_training:
        model.train()
    nats, nbytes, ntok = nats.item(), nbytes.item(), ntok.item()
    return {"loss": nats / ntok, "bpb": nats / LN2 / nbytes, "bytes_per_token": nbytes / ntok,
            "tokens": int(ntok)}


# ----------------------------------------------------------------------------- export


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, float16 numpy array). Standard safetensors layout."""
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    offset = 0
    blobs = []
    for name, arr in tensors:
        arr = np.ascontiguousarray(arr, dtype="<f2")
        b = arr.tobytes()
        header[name] = {"dtype": "F16", "shape": list(arr.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)  # data starts 8-byte aligned, as the reference writer does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        if info["dtype"] != "F16":
            raise ValueError(f"{path}: {name} has dtype {info['dtype']}")
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[base + a:base + b], dtype="<f2").reshape(info["shape"])
    return out, meta


def export_order(state):
    """Tensor names in the contract's order: embeddings, layer by layer, final norm."""
    names = ["tok_embeddings.weight"]
    i = 0
    while f"layers.{i}.attention_norm.weight" in state:
        for part in ("attention_norm", "attention.wq", "attention.wk", "attention.wv", "attention.wo",
                     "ffn_norm", "feed_forward.w1", "feed_forward.w3", "feed_forward.w2"):
            names.append(f"layers.{i}.{part}.weight")
        i += 1
    names.append("norm.weight")
    missing = set(state) - set(names)
    if missing:
        raise RuntimeError(f"state has tensors outside the contract: {sorted(missing)}")
    return names


TOKENIZER_CASES = [
    "",
    "func main() {\n\tfmt.Println(\"hello, world\")\n}\n",
    "package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n",
    "// Copy copies from src to dst until either EOF is reached on src or an error occurs.",
    "for i := 0; i < len(s); i++ {\n\t\tif s[i] == '\\n' {\n\t\t\treturn i\n\t\t}\n\t}",
    "x:=y+1//comment\r\nz := x<<2 | 0x1F &^ 0o17",
    "\t\t\n\n\n    x\n\t \t",
    "   leading spaces and trailing   ",
    "a  b   c    d",
    "café naïve résumé Ünïcödé",
    "日本語のテキスト と 中文 和 한국어",
    "Ελληνικά και кириллица",
    "emoji 👋🏽 👨‍👩‍👧 🇯🇵 ✓",
    "don't we'll I'm you're they've she'd it's",
    "DON'T WE'LL",
    "3.14159 1e-9 1_000_000 0b1010 12345678901234567890",
    "!!!???... ->> <- := ... ;;; {}[]()",
    "var ErrUnexpectedEOF = errors.New(\"unexpected EOF\")",
    "s := `raw\\nstring` + \"esc\\t\\\"q\\\"\"",
    "\u00a0non-breaking\u2009thin\u3000ideographic spaces",
    "mixedCase snake_case SCREAMING_CASE CamelCase2Go",
    "\x00\x01\x1b[31mcontrol\x7f",
]


@torch.no_grad()
def greedy(model, ids, n, max_seq_len):
    ids = list(ids)
    out = []
    for _ in range(n):
        ctx = torch.tensor([ids[-max_seq_len:]], dtype=torch.long)
        nxt = int(model(ctx)[0, -1].argmax())
        ids.append(nxt)
        out.append(nxt)
    return out


@torch.no_grad()
def test_vectors(model, tok, heldout_ids, max_seq_len):
    """What the Go engine must reproduce: top-10 logits at chosen positions, tokenizer ids,
    greedy continuations. model is float32 on CPU with the f16-rounded weights."""
    seqs = []
    short = tok.encode("func main() {\n\tfmt.Println(\"hello, world\")\n}\n").ids
    seqs.append((short, list(range(len(short)))))
    withsep = [0] + tok.encode("package main\n\nimport \"fmt\"\n\nfunc main() {\n").ids
    seqs.append((withsep, [0, 1, len(withsep) // 2, len(withsep) - 1]))
    # A held-out stretch longer than 256 tokens, starting at a file boundary.
    starts = np.flatnonzero(heldout_ids == 0)
    start = int(starts[len(starts) // 3]) + 1 if len(starts) > 3 else 0
    n = min(300, max_seq_len, len(heldout_ids) - start)
    long = [int(t) for t in heldout_ids[start:start + n]]
    seqs.append((long, sorted({0, 1, 63, 127, 255, 256, n - 1} & set(range(n)))))
    logits_cases = []
    for ids, positions in seqs:
        logits = model(torch.tensor([ids], dtype=torch.long))[0]
        top = []
        lse = []
        for p in positions:
            v, i = torch.topk(logits[p], 10)
            top.append([{"id": int(a), "logit": float(b)} for a, b in zip(i, v)])
            lse.append(float(torch.logsumexp(logits[p].double(), dim=0)))
        logits_cases.append({"ids": [int(t) for t in ids], "positions": positions, "top": top,
                             "logsumexp": lse})
    tok_cases = [{"text": s, "ids": tok.encode(s).ids} for s in TOKENIZER_CASES]
    greedy_cases = []
    for prompt in ("func main() {", "// Copy copies"):
        pids = tok.encode(prompt).ids
        out = greedy(model, pids, 64, max_seq_len)
        greedy_cases.append({"prompt": prompt, "prompt_ids": pids, "output_ids": out,
                             "text": tok.decode(out)})
    return {"logits": logits_cases, "tokenizer": tok_cases, "greedy": greedy_cases}


# ----------------------------------------------------------------------------- main


def parse_args():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.abspath(os.path.join(here, "..", "..", ".."))
    ap = argparse.ArgumentParser(description="Train and export twinkle's built-in model.")
    ap.add_argument("--corpus", default=os.path.join(repo, ".train"), help="prepare_corpus.py output")
    ap.add_argument("--work", default="/tmp/twinkle-train", help="cache for tokenizer and token ids")
    ap.add_argument("--out", required=True, help="where the exported files go")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--tiny", action="store_true", help="tiny model, few steps: a smoke test")
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--ffn", type=int, default=688)
    ap.add_argument("--seq", type=int, default=1024, help="training context = max_seq_len")
    ap.add_argument("--batch", type=int, default=32, help="sequences per step")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=200, help="warm-up steps")
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=0, help="fixed step count (0: schedule by --time-budget)")
    ap.add_argument("--time-budget", type=float, default=420.0, help="seconds of training after compiling")
    ap.add_argument("--deadline", type=float, default=0.0,
                    help="unix time by which everything, export included, must be done")
    ap.add_argument("--eval-every", type=float, default=10.0, help="seconds between held-out evaluations")
    ap.add_argument("--patience", type=int, default=8, help="evaluations without improvement before stopping")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()
    if a.tiny:
        a.vocab, a.dim, a.layers, a.heads, a.kv_heads, a.ffn = 512, 64, 2, 4, 2, 172
        a.seq, a.batch, a.warmup = 128, 8, 5
        a.steps = a.steps or 30
        a.eval_every = 0.0
    return a


def main():
    args = parse_args()
    t_start = time.time()
    torch.manual_seed(args.seed)
    dev = torch.device(args.device)
    cuda = dev.type == "cuda"
    gpu = torch.cuda.get_device_name(dev) if cuda else platform.processor() or "cpu"
    log(f"torch {torch.__version__}, device {dev} ({gpu}), python {platform.python_version()}")
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    def autocast():
        if cuda:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return torch.autocast("cpu", enabled=False)

    # ---- corpus, tokenizer, ids
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    tag = f"v{args.vocab}" + ("-tiny" if args.tiny else "")
    tok_path = os.path.join(args.work, f"tokenizer-{tag}.json")
    train_ids_path = os.path.join(args.work, f"train-{tag}.npy")
    held_ids_path = os.path.join(args.work, f"heldout-{tag}.npy")
    t0 = time.time()
    held_docs = read_split(args.corpus, "heldout")
    if os.path.exists(tok_path) and os.path.exists(train_ids_path) and os.path.exists(held_ids_path):
        tok = load_tokenizer(tok_path)
        train_ids, held_ids = np.load(train_ids_path), np.load(held_ids_path)
        log(f"reusing tokenizer and ids from {args.work}")
    else:
        train_docs = read_split(args.corpus, "train")
        if args.tiny:
            train_docs, held_docs = train_docs[:300], held_docs[:8]
        log(f"corpus: train {len(train_docs)} files {sum(map(len, train_docs))/1e6:.1f}M chars, "
            f"held-out {len(held_docs)} files ({time.time()-t0:.1f}s to read)")
        t0 = time.time()
        tok = train_tokenizer(train_docs, args.vocab)
        log(f"tokenizer: {tok.get_vocab_size()} entries in {time.time()-t0:.1f}s")
        t0 = time.time()
        train_ids, held_ids = encode_docs(tok, train_docs), encode_docs(tok, held_docs)
        log(f"encoded in {time.time()-t0:.1f}s")
        tok.save(tok_path)
        np.save(train_ids_path, train_ids)
        np.save(held_ids_path, held_ids)
        del train_docs
    if args.tiny:
        held_docs = held_docs[:8]
    tok.save(os.path.join(args.out, "tokenizer.json"))
    V = tok.get_vocab_size()
    tok_bytes_np = token_byte_lengths(tok)
    # The byte accounting behind bits/byte must add up to the held-out text exactly.
    held_text_bytes = sum(len(d.encode("utf-8")) for d in held_docs)
    if int(tok_bytes_np[held_ids].sum()) != held_text_bytes:
        raise RuntimeError(f"held-out tokens cover {int(tok_bytes_np[held_ids].sum())} bytes, text has {held_text_bytes}")
    for d in held_docs[:20]:
        if tok.decode(tok.encode(d).ids) != d:
            raise RuntimeError("tokenizer does not round-trip a held-out file")
    log(f"tokens: train {len(train_ids)/1e6:.2f}M, held-out {len(held_ids)/1e6:.3f}M "
        f"({held_text_bytes/len(held_ids):.3f} bytes/token held-out)")

    # ---- model
    cfg = Config(V, args.dim, args.layers, args.heads, args.kv_heads, args.ffn, args.seq,
                 dropout=args.dropout)
    model = Transformer(cfg).to(dev)
    total, non_emb = count_params(model)
    log(f"model: dim {cfg.dim}, layers {cfg.n_layers}, heads {cfg.n_heads}/{cfg.n_kv_heads} kv, "
        f"head_dim {cfg.head_dim}, ffn {cfg.ffn_dim}, vocab {V}, seq {cfg.max_seq_len}, dropout {cfg.dropout}: "
        f"{total/1e6:.3f}M params, {non_emb/1e6:.3f}M without embeddings; f16 file {total*2/1e6:.1f} MB")

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt_kw = {"fused": True} if cuda else {}
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8, **opt_kw)
    step_model = model
    if not args.no_compile and hasattr(torch, "compile"):
        step_model = torch.compile(model)

    data = torch.from_numpy(train_ids.astype(np.int64)).to(dev)
    T, B = cfg.max_seq_len, args.batch
    gen = torch.Generator(device=dev)
    gen.manual_seed(args.seed)
    span = torch.arange(T + 1, device=dev)
    tok_bytes = torch.from_numpy(tok_bytes_np).to(dev)
    held_rows, held_masks = windows(held_ids, T)
    held_rows, held_masks = held_rows.to(dev), held_masks.to(dev)
    eval_batch = 64 if cuda else 8

    def batch():
        off = torch.randint(0, len(data) - T - 1, (B, 1), device=dev, generator=gen)
        w = data[off + span]
        return w[:, :-1], w[:, 1:]

    def lr_at(step, progress):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        p = min(max(progress, 0.0), 1.0)
        return args.lr * (args.min_lr_frac + (1 - args.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * p)))

    def train_step(step, progress):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, progress)
        x, y = batch()
        with autocast():
            logits = step_model(x)
        loss = F.cross_entropy(logits.float().view(-1, V), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.detach()

    # First step compiles; if the compiler fails, train eagerly rather than not at all.
    t0 = time.time()
    try:
        loss_sum = train_step(0, 0.0).float()
    except Exception as e:  # noqa: BLE001 - any compiler failure
        if step_model is model:
            raise
        log(f"torch.compile failed ({type(e).__name__}: {str(e)[:300]}); training eagerly")
        step_model = model
        loss_sum = train_step(0, 0.0).float()
    if cuda:
        torch.cuda.synchronize()
    log(f"first step (compile) {time.time()-t0:.1f}s")

    t_train = time.time()
    budget = args.time_budget
    if args.deadline:
        reserve = 60.0 if not args.tiny else 20.0
        budget = min(budget, args.deadline - t_train - reserve)
    if not args.steps and budget < 10:
        sys.exit(f"train.py: only {budget:.0f}s left for training before the deadline")
    log(f"training: {'%d steps' % args.steps if args.steps else '%.0fs' % budget}, "
        f"{B}x{T} tokens per step, lr {args.lr}, warm-up {args.warmup}, wd {args.weight_decay}")

    best = {"heldout_bpb": float("inf"), "step": 0}
    best_state = None
    history = []
    since_best = 0
    step, n_in_sum, last_eval = 1, 1, t_train
    stop_reason = "schedule done"
    while True:
        elapsed = time.time() - t_train
        progress = step / args.steps if args.steps else elapsed / budget
        done = progress >= 1.0
        due = (time.time() - last_eval >= args.eval_every) if not args.tiny else (step % 10 == 0)
        if due or done:
            train_loss = (loss_sum / n_in_sum).item() if n_in_sum else float("nan")
            ev = evaluate(model, held_rows, held_masks, tok_bytes, eval_batch, autocast)
            last_eval = time.time()
            tokens = step * B * T
            row = {"step": step, "s": round(elapsed, 1), "lr": lr_at(step, progress), "train_loss": train_loss,
                   "heldout_loss": ev["loss"], "heldout_bpb": ev["bpb"], "tokens": tokens,
                   "epochs": tokens / len(train_ids)}
            history.append(row)
            log(f"step {step:6d} {elapsed:6.1f}s lr {row['lr']:.2e} train {train_loss:.4f} "
                f"held-out {ev['loss']:.4f} = {ev['bpb']:.4f} bits/byte, epoch {row['epochs']:.2f}, "
                f"{tokens/max(elapsed, 1e-9)/1e6:.2f}M tok/s")
            loss_sum, n_in_sum = torch.zeros((), device=dev), 0
            if ev["bpb"] < best["heldout_bpb"]:
                best = dict(row)
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                since_best = 0
            else:
                since_best += 1
            if since_best >= args.patience:
                stop_reason = f"no held-out improvement in {args.patience} evaluations"
                done = True
        if done:
            break
        loss_sum = loss_sum + train_step(step, progress).float()
        n_in_sum += 1
        step += 1
    if cuda:
        torch.cuda.synchronize()
    train_secs = time.time() - t_train
    log(f"stopped at step {step} after {train_secs:.1f}s: {stop_reason}; best held-out "
        f"{best['heldout_bpb']:.4f} bits/byte at step {best['step']}")

    # ---- export: round to f16, measure what ships, write files
    model.load_state_dict(best_state)
    state = {k: v.detach().float().cpu() for k, v in model.state_dict().items()}
    names = export_order(state)
    f16 = [(n, state[n].numpy().astype(np.float16)) for n in names]
    shipped = Transformer(Config(V, args.dim, args.layers, args.heads, args.kv_heads, args.ffn, args.seq))
    shipped.load_state_dict({n: torch.from_numpy(a.astype(np.float32)) for n, a in f16})
    shipped.eval()
    # Figures of the shipped weights, in float32 without TF32.
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    gm = shipped.to(dev)

    def fp32():
        return torch.autocast(dev.type, enabled=False)

    final = evaluate(gm, held_rows, held_masks, tok_bytes, eval_batch, fp32)
    h256_rows, h256_masks = windows(held_ids, min(256, T))
    final256 = evaluate(gm, h256_rows.to(dev), h256_masks.to(dev), tok_bytes, eval_batch, fp32)
    rng = np.random.default_rng(args.seed)
    s0 = int(rng.integers(0, max(1, len(train_ids) - len(held_ids))))
    tr_rows, tr_masks = windows(train_ids[s0:s0 + len(held_ids)], T)
    train_eval = evaluate(gm, tr_rows.to(dev), tr_masks.to(dev), tok_bytes, eval_batch, fp32)
    shipped = gm.cpu()
    log(f"shipped (f16) weights: held-out {final['loss']:.4f} nats/token = {final['bpb']:.4f} bits/byte "
        f"at context {T}, {final256['bpb']:.4f} bits/byte at context {min(256, T)}; "
        f"train sample {train_eval['loss']:.4f} nats/token = {train_eval['bpb']:.4f} bits/byte")
    tokens_trained = step * B * T
    meta = {
        "format": FORMAT, "vocab_size": V, "dim": cfg.dim, "n_layers": cfg.n_layers,
        "n_heads": cfg.n_heads, "n_kv_heads": cfg.n_kv_heads, "ffn_dim": cfg.ffn_dim,
        "max_seq_len": cfg.max_seq_len, "rope_theta": repr(cfg.rope_theta), "norm_eps": repr(cfg.norm_eps),
        "eos_id": 0, "rope": "rotate_half", "tied_embeddings": "true",
        "heldout_bits_per_byte": f"{final['bpb']:.4f}",
        "heldout_bits_per_byte_ctx256": f"{final256['bpb']:.4f}",
        "heldout_loss": f"{final['loss']:.4f}", "train_loss": f"{train_eval['loss']:.4f}",
        "tokens_trained": tokens_trained, "steps": step, "best_step": best["step"],
        "description": ("twinkle built-in model: Llama-style decoder trained on the Go standard "
                        "library source (BSD license, see LICENSE-go) by backend/local/train/train.py"
                        + (" [tiny smoke test]" if args.tiny else "")),
    }
    st_path = os.path.join(args.out, "model.safetensors")
    write_safetensors(st_path, f16, meta)
    back, back_meta = read_safetensors(st_path)
    assert all(np.array_equal(back[n], a) for n, a in f16) and back_meta["format"] == FORMAT
    try:
        from safetensors.numpy import load_file

        lib = load_file(st_path)
        same = set(lib) == set(names) and all(np.array_equal(lib[n], back[n]) for n in names)
        log(f"safetensors library reads the file back {'identically' if same else 'DIFFERENTLY'}")
    except ImportError:
        log("safetensors library not installed; checked with the built-in reader only")
    except Exception as e:  # noqa: BLE001 - a check, not a reason to lose the run
        log(f"safetensors library failed to read the file: {type(e).__name__}: {e}")

    tv = test_vectors(shipped, tok, held_ids, cfg.max_seq_len)
    tv["config"] = {k: meta[k] for k in ("vocab_size", "dim", "n_layers", "n_heads", "n_kv_heads",
                                          "ffn_dim", "max_seq_len", "rope_theta", "norm_eps", "eos_id")}
    with open(os.path.join(args.out, "testvectors.json"), "w", encoding="utf-8") as f:
        json.dump(tv, f, ensure_ascii=False, indent=None, separators=(",", ":"))
    for g in tv["greedy"]:
        log(f"greedy {g['prompt']!r} -> {g['text']!r}")
        log("---\n" + g["prompt"] + g["text"] + "\n---")

    result = {
        "gpu": gpu, "torch": torch.__version__, "config": tv["config"], "params": total,
        "non_embedding_params": non_emb, "dropout": args.dropout, "lr": args.lr,
        "weight_decay": args.weight_decay, "batch": B, "steps": step, "best": best,
        "stop_reason": stop_reason, "train_seconds": round(train_secs, 1),
        "wall_seconds": round(time.time() - t_start, 1), "tokens_trained": tokens_trained,
        "train_tokens": int(len(train_ids)), "heldout_tokens": int(len(held_ids)),
        "heldout": final, "heldout_ctx256": final256, "train_sample": train_eval,
        "file_bytes": os.path.getsize(st_path), "history": history,
        "greedy": [{"prompt": g["prompt"], "text": g["text"]} for g in tv["greedy"]],
    }
    with open(os.path.join(args.out, "result.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    log(f"done: {args.out}: model.safetensors {result['file_bytes']/1e6:.2f} MB; GPU {gpu}; "
        f"training {train_secs:.0f}s, wall {result['wall_seconds']:.0f}s")


if __name__ == "__main__":
    main()
