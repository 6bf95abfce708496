// Package explore is the data a person explores samples with, token by token:
//
//   - Tree: the branches forked from samples on a token the model did not pick, and
//     samples grown a few tokens at a time (step mode); it plans the request of each
//     fork or step (backend.Continuation) and saves and reloads whole (JSON);
//   - Merged: the N samples of a run as one prefix tree of their tokens, where they agree
//     and where they split;
//   - Diff: two samples aligned token by token.
//
// It is pure data: it imports backend and params, never ui, bubbletea or lipgloss, and
// does no I/O of its own (Plan.Resolve reaches a server only through the
// backend.Tokenizer it is given). Token texts are model output, untrusted: the plain lines
// its renderings return must go through the UI's sanitizer before reaching a terminal.
package explore
