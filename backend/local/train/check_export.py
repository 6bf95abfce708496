#!/usr/bin/env python3
"""Check exported weights against their test vectors with an independent forward pass.

Reads model.safetensors and testvectors.json from the folder given (default: the shipped
backend/local/weights) and recomputes every test vector in float64 NumPy, written straight
from the maths in this folder's README ("Files it writes") rather than from train.py's model code, so a
mismatch between the PyTorch model and the documented format shows up here before it shows
up in the Go engine. Needs only numpy.
"""

import json
import os
import struct
import sys

import numpy as np


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__")
    base = 8 + n
    w = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        w[name] = np.frombuffer(raw[base + a:base + b], "<f2").reshape(info["shape"]).astype(np.float64)
    return w, meta


class Reference:
    def __init__(self, w, meta):
        self.w = w
        self.dim, self.layers = int(meta["dim"]), int(meta["n_layers"])
        self.heads, self.kv = int(meta["n_heads"]), int(meta["n_kv_heads"])
        self.theta, self.eps = float(meta["rope_theta"]), float(meta["norm_eps"])
        self.hd = self.dim // self.heads

    def rms(self, x, g):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + self.eps) * g

    def rope(self, v):  # v: [T, heads, hd]; pairs (j, j + hd/2) turn by pos * theta^(-2j/hd)
        T, hd = v.shape[0], self.hd
        ang = np.arange(T)[:, None] * self.theta ** (-2.0 * np.arange(hd // 2) / hd)
        c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
        a, b = v[..., :hd // 2], v[..., hd // 2:]
        return np.concatenate([a * c - b * s, b * c + a * s], -1)

    def logits(self, ids):
        w, T, hd = self.w, len(ids), self.hd
        x = w["tok_embeddings.weight"][ids]
        causal = np.tril(np.ones((T, T), dtype=bool))
        for i in range(self.layers):
            p = f"layers.{i}."
            n = self.rms(x, w[p + "attention_norm.weight"])
            q = self.rope((n @ w[p + "attention.wq.weight"].T).reshape(T, self.heads, hd))
            k = self.rope((n @ w[p + "attention.wk.weight"].T).reshape(T, self.kv, hd))
            v = (n @ w[p + "attention.wv.weight"].T).reshape(T, self.kv, hd)
            out = np.empty((T, self.heads, hd))
            for h in range(self.heads):
                kh = h // (self.heads // self.kv)
                s = np.where(causal, q[:, h] @ k[:, kh].T / np.sqrt(hd), -np.inf)
                s = np.exp(s - s.max(-1, keepdims=True))
                out[:, h] = (s / s.sum(-1, keepdims=True)) @ v[:, kh]
            x = x + out.reshape(T, -1) @ w[p + "attention.wo.weight"].T
            n = self.rms(x, w[p + "ffn_norm.weight"])
            g, u = n @ w[p + "feed_forward.w1.weight"].T, n @ w[p + "feed_forward.w3.weight"].T
            x = x + (g / (1 + np.exp(-g)) * u) @ w[p + "feed_forward.w2.weight"].T
        return self.rms(x, w["norm.weight"]) @ w["tok_embeddings.weight"].T


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "weights")
    w, meta = load(os.path.join(folder, "model.safetensors"))
    with open(os.path.join(folder, "testvectors.json"), encoding="utf-8") as f:
        tv = json.load(f)
    ref = Reference(w, meta)
    worst, bad = 0.0, 0
    for case in tv["logits"]:
        lg = ref.logits(case["ids"])
        for p, top, lse in zip(case["positions"], case["top"], case["logsumexp"]):
            for t in top:
                worst = max(worst, abs(lg[p][t["id"]] - t["logit"]))
            m = lg[p].max()
            worst = max(worst, abs(m + np.log(np.exp(lg[p] - m).sum()) - lse))
            if top[0]["id"] != int(np.argmax(lg[p])):
                bad += 1
    greedy_ok = True
    for g in tv.get("greedy", []):
        ids = list(g["prompt_ids"])
        for _ in g["output_ids"]:
            ids.append(int(np.argmax(ref.logits(ids)[-1])))
        greedy_ok &= ids[len(g["prompt_ids"]):] == g["output_ids"]
    ok = worst < 1e-3 and bad == 0 and greedy_ok
    print(f"{folder}: {len(tv['logits'])} logit cases, max |logit diff| {worst:.2e}, "
          f"argmax mismatches {bad}, greedy {'matches' if greedy_ok else 'DIFFERS'}: {'OK' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
