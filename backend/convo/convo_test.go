package convo

import (
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
)

func TestReadTrajectoryAndBareList(t *testing.T) {
	want := []backend.Message{
		{Role: "system", Content: "You are terse."},
		{Role: "user", Content: "Hi"},
		{Role: "assistant", Content: "Hello.\nHow can I help?"},
		{Role: "user", Content: "Again \u202e"},
	}
	body, _ := json.MarshalIndent(want, "", "  ")
	for _, in := range []string{
		string(body),
		`{"messages": ` + string(body) + `}`,
		"\n\n" + `{"messages":` + string(body) + "}\n",
	} {
		c, err := Read("conv.json", []byte(in))
		if err != nil {
			t.Fatalf("%v\n%s", err, in)
		}
		if !slices.Equal(c.Messages, want) {
			t.Errorf("got %+v", c.Messages)
		}
		if len(c.Lines) != 4 || !slices.IsSorted(c.Lines) || c.Lines[0] < 1 {
			t.Errorf("lines %v", c.Lines)
		}
	}
	c, _ := Read("conv.json", []byte("[\n {\"role\": \"user\", \"content\": \"a\"},\n {\"role\": \"assistant\", \"content\": null}\n]"))
	if c.Lines[0] != 2 || c.Lines[1] != 3 || c.Messages[1].Content != "" {
		t.Errorf("lines %v messages %+v", c.Lines, c.Messages)
	}
}

func TestReadTwinkleSampleOutput(t *testing.T) {
	// A trajectory as `twinkle sample` prints it reads back as the conversation.
	resp := backend.SampleResponse{Trajectories: []backend.Trajectory{{Messages: []backend.Message{{Role: "user", Content: "q"}, {Role: "assistant", Content: "a"}}}}}
	b, _ := json.Marshal(resp.Trajectories[0])
	c, err := Read("t.json", b)
	if err != nil || !slices.Equal(c.Messages, resp.Trajectories[0].Messages) {
		t.Fatalf("%v %+v", err, c.Messages)
	}
}

func TestReadProblemsNameFileLineAndField(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "conv.json: empty: expected the conversation"},
		{"  \n", "conv.json: empty"},
		{"42", `conv.json:1: expected the conversation, {"messages": [...]} or a list of messages, got the number 42`},
		{`"hi"`, "conv.json:1: expected the conversation"},
		{"[]", "conv.json:1: messages: the list is empty"},
		{`{"messages": []}`, "conv.json:1: messages: the list is empty"},
		{`{}`, `conv.json:1: no "messages"`},
		{"{\n\"Messages\": []\n}", `conv.json:2: unknown field "Messages": a trajectory holds "messages" (names are matched exactly)`},
		{`{"messages": {"role": "user"}}`, "conv.json:1: messages: expected a list of messages, got an object"},
		{"[\n{\"role\": \"user\", \"content\": \"a\"},\n{\"content\": \"b\"}\n]", "conv.json:3: messages[1]: role is required"},
		{"[\n{\"role\": 3, \"content\": \"a\"}\n]", "conv.json:2: messages[0].role: expected a string, got the number 3"},
		{"[\n{\"role\": \"user\",\n\"content\": [{\"type\": \"text\", \"text\": \"a\"}]}\n]", "conv.json:3: messages[0].content: a list of content parts is not supported"},
		{"[{\"role\": \"user\", \"content\": true}]", "conv.json:1: messages[0].content: expected a string or null, got a boolean"},
		{"[\n{\"Role\": \"user\", \"content\": \"a\"}]", `conv.json:2: messages[0]: unknown field "Role" (did you mean "role"? names are matched exactly)`},
		{"[\n{\"role\": \"user\",\n \"name\": \"ann\", \"content\": \"a\"}]", `conv.json:3: messages[0]: field "name" is not supported`},
		{"[\n{\"role\": \"user\",\n \"role\": \"system\", \"content\": \"a\"}]", "conv.json:3: field role: set twice (first on line 2)"},
		{"[\n\"hello\"\n]", "conv.json:2: messages[0]: expected a message"},
		{"[\n{\"role\": \"user\", \"content\": \"a\"}\n", "conv.json:3: invalid JSON: the text ends inside a value"},
		{"[\n{\"role\": \"user\", \"content\": \"a\",}]", "conv.json:2: invalid JSON"},
		{"[{\"role\": \"user\", \"content\": \"a\"}]\n[]", "conv.json:2: unexpected data after the conversation"},
	} {
		_, err := Read("conv.json", []byte(c.in))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Read(%q): got %v, want a ParseError", c.in, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Read(%q):\n got %q\nwant %q", c.in, err, c.want)
		}
	}
}

func TestReadReportsEveryProblemInFileOrder(t *testing.T) {
	in := "[\n{\"role\": 1, \"content\": \"a\"},\n{\"content\": \"b\"},\n{\"role\": \"user\", \"content\": 5, \"x\": 1}\n]"
	_, err := Read("c.json", []byte(in))
	var pe *ParseError
	if !errors.As(err, &pe) || len(pe.Problems) != 4 {
		t.Fatalf("%v", err)
	}
	var lines []int
	for _, p := range pe.Problems {
		lines = append(lines, problemLine(p, "c.json"))
	}
	if !slices.Equal(lines, []int{2, 3, 4, 4}) {
		t.Errorf("lines %v: %v", lines, pe.Problems)
	}
}

func TestCustomRolesArePassedThroughAndNamed(t *testing.T) {
	// vLLM's CustomChatCompletionMessageParam takes any role string; the chat template
	// decides. So a custom role reads, and CustomRoles says where it is.
	c, err := Read("c.json", []byte("[\n{\"role\": \"user\", \"content\": \"a\"},\n{\"role\": \"narrator\", \"content\": \"b\"}\n]"))
	if err != nil || c.Messages[1].Role != "narrator" {
		t.Fatalf("%v %+v", err, c.Messages)
	}
	notes := c.CustomRoles()
	if len(notes) != 1 || !strings.HasPrefix(notes[0], `c.json:3: messages[1]: role "narrator" is not one of system, developer, user, assistant, tool, function`) {
		t.Errorf("%q", notes)
	}
}

func TestReadBatch(t *testing.T) {
	in := "\"Once upon a time\"\n" +
		"\n" +
		"[{\"role\": \"user\", \"content\": \"hi\"}]\r\n" +
		"{\"messages\": [{\"role\": \"system\", \"content\": \"s\"}, {\"role\": \"user\", \"content\": \"q\"}]}\n" +
		"not json\n" +
		"\"two\" \"strings\"\n" +
		"[{\"content\": \"x\"}]\n" +
		"  \"last, no newline\\n\""
	lines := ReadBatch("p.jsonl", []byte(in))
	if len(lines) != 7 {
		t.Fatalf("%d lines: %+v", len(lines), lines)
	}
	nums := []int{}
	for _, l := range lines {
		nums = append(nums, l.N)
	}
	if !slices.Equal(nums, []int{1, 3, 4, 5, 6, 7, 8}) {
		t.Errorf("line numbers %v", nums)
	}
	if lines[0].Prompt != "Once upon a time" || lines[0].Err != nil || lines[0].Conversation != nil {
		t.Errorf("line 1: %+v", lines[0])
	}
	if c := lines[1].Conversation; c == nil || len(c.Messages) != 1 || c.Lines[0] != 3 {
		t.Errorf("line 3: %+v", lines[1])
	}
	if c := lines[2].Conversation; c == nil || len(c.Messages) != 2 || c.Messages[0].Role != "system" {
		t.Errorf("line 4: %+v", lines[2])
	}
	for i, want := range map[int]string{3: "p.jsonl:5: invalid JSON", 4: "p.jsonl:6: unexpected data after the prompt string", 5: "p.jsonl:7: messages[0]: role is required"} {
		if lines[i].Err == nil || !strings.HasPrefix(lines[i].Err.Error(), want) {
			t.Errorf("line %d: %v, want %q", lines[i].N, lines[i].Err, want)
		}
	}
	if lines[6].Prompt != "last, no newline\n" {
		t.Errorf("last line %+v", lines[6])
	}
}

var problemShape = regexp.MustCompile(`^f\.json(:\d+)?: `)

// FuzzRead: any input is read without panicking; every problem names the file and a line
// within the input; a conversation that reads writes back to JSON that reads the same.
func FuzzRead(f *testing.F) {
	for _, s := range []string{
		`[{"role":"user","content":"hi"}]`,
		`{"messages":[{"role":"system","content":"s"},{"role":"user","content":null}]}`,
		"[\n{\"role\": 1}\n,{\"x\":[{}]}]",
		`{"messages": {"a": [1, 2, {"b": null}]}, "m": 1}`,
		`"prompt"`,
		`[{"role":"user","content":[{"type":"text","text":"a"}]}]`,
		"[{\"role\":\"\u202e\",\"content\":\"\\u0000\"}]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := strings.Count(string(data), "\n") + 1
		c, err := Read("f.json", data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || len(pe.Problems) == 0 {
				t.Fatalf("error %T %v", err, err)
			}
			for _, p := range pe.Problems {
				m := problemShape.FindStringSubmatch(p)
				if m == nil {
					t.Fatalf("problem without file and line: %q", p)
				}
				if m[1] != "" {
					if n, _ := strconv.Atoi(m[1][1:]); n < 1 || n > lines {
						t.Fatalf("line %d outside 1..%d: %q", n, lines, p)
					}
				}
			}
			return
		}
		if len(c.Messages) == 0 || len(c.Lines) != len(c.Messages) {
			t.Fatalf("read %d messages, %d lines", len(c.Messages), len(c.Lines))
		}
		b, err := json.Marshal(backend.Trajectory{Messages: c.Messages})
		if err != nil {
			t.Fatal(err)
		}
		again, err := Read("f.json", b)
		if err != nil || !slices.Equal(again.Messages, c.Messages) {
			t.Fatalf("round trip: %v\n%q\n%q", err, data, b)
		}
	})
}

// FuzzReadBatch: lines come back in file order, each either read or failed with a
// problem naming its own line.
func FuzzReadBatch(f *testing.F) {
	f.Add([]byte("\"a\"\n[{\"role\":\"user\",\"content\":\"b\"}]\n\nnope\n{\"messages\":[]}"))
	f.Add([]byte("\"x\" 1\r\n\"\\u0000\""))
	f.Fuzz(func(t *testing.T, data []byte) {
		last := 0
		for _, l := range ReadBatch("f.json", data) {
			if l.N <= last {
				t.Fatalf("line %d after %d", l.N, last)
			}
			last = l.N
			switch {
			case l.Err != nil:
				if l.Conversation != nil || l.Prompt != "" {
					t.Fatalf("line %d failed but kept a value", l.N)
				}
				for _, p := range l.Err.(*ParseError).Problems {
					if !strings.HasPrefix(p, "f.json:"+strconv.Itoa(l.N)+": ") {
						t.Fatalf("line %d: problem %q names another line", l.N, p)
					}
				}
			case l.Conversation != nil:
				if len(l.Conversation.Messages) == 0 {
					t.Fatalf("line %d: an empty conversation was read", l.N)
				}
			}
		}
	})
}
