using System.Text.Json;
using System.Text.Json.Nodes;
using JobApi.Inputs;
using JobApi.JobKinds;
using Microsoft.Extensions.DependencyInjection;

namespace JobApi.Tests.JobKinds;

public class KindValidationTests
{
    private static readonly Dictionary<string, IJobKind> Kinds = new ServiceCollection().AddBuiltInJobKinds()
        .AddSingleton<IInputStore>(new MemoryInputStore())
        .BuildServiceProvider().GetRequiredService<JobKindRegistry>().All.ToDictionary(k => k.Name);

    [Theory]
    [InlineData("primes", """{ "from": 10, "to": 5 }""", "input.to", "'to'")]
    [InlineData("primes", """{ "from": 0, "to": 1000000000001 }""", "input.to", "'to'")]
    [InlineData("primes", """{ "from": -1, "to": 5 }""", "input.from", "'from'")]
    [InlineData("primes", """{ "to": 5 }""", "input.from", "'from'")]
    [InlineData("primes", """{ "from": 1 }""", "input.to", "'to'")]
    [InlineData("primes", """{ "from": "abc", "to": 5 }""", "input.from", "'from'")]
    [InlineData("primes", """{ "from": 1.5, "to": 5 }""", "input.from", "'from'")]
    [InlineData("primes", """{ "from": 1, "to": 5, "step": 2 }""", "input.step", "'step'")]
    [InlineData("primes", """{ "from": 1, "to": 5, "To": 6 }""", "input.To", "'To'")]
    [InlineData("primes", """{ "from": 1, "to": 5, "to": 6 }""", "input.to", "'to'")]
    [InlineData("primes", """{ "from": 1, "to": 99999999999999999999999 }""", "input.to", "'to'")]
    [InlineData("noop", """{ "sleepMs": 60001 }""", "input.sleepMs", "'sleepMs'")]
    [InlineData("noop", """{ "sleepMs": -1 }""", "input.sleepMs", "'sleepMs'")]
    [InlineData("noop", """{ "failTimes": 21 }""", "input.failTimes", "'failTimes'")]
    [InlineData("noop", """{ "sleepMs": "10" }""", "input.sleepMs", "'sleepMs'")]
    [InlineData("wordcount", """{ "text": "a", "top": 0 }""", "input.top", "'top'")]
    [InlineData("wordcount", """{ "text": "a", "top": 1001 }""", "input.top", "'top'")]
    [InlineData("wordcount", """{ "text": "a", "documents": ["b"] }""", "input.text", "'documents'")]
    [InlineData("wordcount", """{ }""", "input.text", "'text'")]
    [InlineData("wordcount", """{ "documents": ["a", null] }""", "input.documents[1]", "'documents'")]
    [InlineData("wordcount", """{ "documents": ["a", 5] }""", "input.documents[1]", "'documents[1]'")]
    [InlineData("wordcount", """{ "text": 5 }""", "input.text", "'text'")]
    [InlineData("wordcount", """{ "text": "a", "lang": "en" }""", "input.lang", "'lang'")]
    [InlineData("wordcount", """{ "text": "a", "inputRef": "01JAAAAAAAAAAAAAAAAAAAAAAA" }""", "input.inputRef", "'inputRef'")]
    [InlineData("wordcount", """{ "inputRef": "01JAAAAAAAAAAAAAAAAAAAAAAA" }""", "input.inputRef", "'inputRef'")]
    [InlineData("sort", """{ }""", "input", "'numbers'")]
    [InlineData("sort", """{ "numbers": [1], "lines": ["a"] }""", "input", "exactly one")]
    [InlineData("sort", """{ "numbers": [1, "2"] }""", "input.numbers", "'numbers'")]
    [InlineData("sort", """{ "numbers": 5 }""", "input.numbers", "'numbers'")]
    [InlineData("sort", """{ "lines": ["a", 1] }""", "input.lines[1]", "'lines[1]'")]
    [InlineData("sort", """{ "numbers": [1], "order": "up" }""", "input.order", "'order'")]
    [InlineData("sort", """{ "inputRef": "01JAAAAAAAAAAAAAAAAAAAAAAA" }""", "input.format", "'format'")]
    [InlineData("sort", """{ "inputRef": "01JAAAAAAAAAAAAAAAAAAAAAAA", "format": "lines" }""", "input.inputRef", "'inputRef'")]
    [InlineData("sort", """{ "numbers": [1], "format": "lines" }""", "input.format", "'format'")]
    [InlineData("sort", """{ "generate": { "count": -1 } }""", "input.generate.count", "'generate.count'")]
    [InlineData("sort", """{ "generate": { "count": 100000001, "seed": 1 } }""", "input.generate.count", "'generate.count'")]
    [InlineData("sort", """{ "generate": { "count": 10, "speed": 1 } }""", "input.generate.speed", "'generate.speed'")]
    [InlineData("stats", """{ "values": [] }""", "input.values", "'values'")]
    [InlineData("stats", """{ "values": [1, null] }""", "input.values", "'values'")]
    [InlineData("stats", """{ "values": [1], "generate": { "count": 3 } }""", "input", "exactly one")]
    [InlineData("stats", """{ "generate": { "count": 0 } }""", "input.generate.count", "'generate.count'")]
    [InlineData("hash", """{ "documents": ["a"], "algorithm": "crc32" }""", "input.algorithm", "'algorithm'")]
    [InlineData("hash", """{ "documents": ["a"], "chunkBytes": 4096 }""", "input.chunkBytes", "'chunkBytes'")]
    [InlineData("hash", """{ "inputRef": "x", "chunkBytes": 10 }""", "input.chunkBytes", "'chunkBytes'")]
    [InlineData("hash", """{ }""", "input", "'documents'")]
    [InlineData("hash", """{ "documents": [null] }""", "input.documents[0]", "'documents'")]
    [InlineData("matmul", """{ "a": [[1, 2], [3]], "b": [[1], [2]] }""", "input.a", "'a'")]
    [InlineData("matmul", """{ "a": [[1, 2]], "b": [[1, 2]] }""", "input.b", "rows")]
    [InlineData("matmul", """{ "a": [], "b": [[1]] }""", "input.a", "'a'")]
    [InlineData("matmul", """{ "a": [[1]] }""", "input.b", "'b'")]
    [InlineData("matmul", """{ "a": [["x"]], "b": [[1]] }""", "input.a[0][0]", "'a[0][0]'")]
    [InlineData("montecarlo-pi", """{ "samples": 0 }""", "input.samples", "'samples'")]
    [InlineData("montecarlo-pi", """{ "samples": 1000000000001 }""", "input.samples", "'samples'")]
    [InlineData("montecarlo-pi", """{ "seed": 1 }""", "input.samples", "'samples'")]
    [InlineData("montecarlo-pi", """{ "samples": 10, "seed": 1.5 }""", "input.seed", "'seed'")]
    [InlineData("montecarlo", """{ "samples": -5, "lo": [0], "hi": [1], "integrand": { "family": "polynomial", "terms": [{ "coef": 1, "powers": [1] }] } }""", "input.samples", "'samples'")]
    [InlineData("montecarlo", """{ "samples": 1000000000001, "lo": [0], "hi": [1], "integrand": { "family": "polynomial", "terms": [{ "coef": 1, "powers": [1] }] } }""", "input.samples", "'samples'")]
    [InlineData("montecarlo", """{ "lo": [0], "hi": [1], "integrand": { "family": "polynomial", "terms": [{ "coef": 1, "powers": [1] }] } }""", "input.samples", "'samples'")]
    [InlineData("montecarlo", """{ "samples": 10, "lo": [], "hi": [], "integrand": { "family": "polynomial", "terms": [{ "coef": 1, "powers": [1] }] } }""", "input.lo", "'lo'")]
    [InlineData("montecarlo", """{ "samples": 10, "lo": [0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0], "hi": [1], "integrand": { "family": "polynomial", "terms": [{ "coef": 1, "powers": [1] }] } }""", "input.lo", "'lo'")]
    [InlineData("montecarlo", """{ "samples": 10, "lo": [0], "hi": [1001], "integrand": { "family": "polynomial", "terms": [{ "coef": 1, "powers": [1] }] } }""", "input.hi", "'hi'")]
    [InlineData("montecarlo", """{ "samples": 10, "lo": [0], "hi": [1, 2], "integrand": { "family": "polynomial", "terms": [{ "coef": 1, "powers": [1] }] } }""", "input.hi", "'hi'")]
    [InlineData("montecarlo", """{ "samples": 10, "lo": [0, 3], "hi": [1, 3], "integrand": { "family": "ball", "radius": 1 } }""", "input.hi[1]", "'hi[1]'")]
    [InlineData("montecarlo", """{ "samples": 10, "lo": [0], "hi": [1] }""", "input.integrand", "'integrand'")]
    [InlineData("montecarlo", """{ "samples": 10, "lo": [0], "hi": [1], "integrand": { "family": "System.Object" } }""", "input.integrand.family", "'integrand.family'")]
    [InlineData("montecarlo", """{ "samples": 10, "lo": [0], "hi": [1], "integrand": { "family": "polynomial", "terms": [] } }""", "input.integrand.terms", "'integrand.terms'")]
    [InlineData("montecarlo", """{ "samples": 10, "lo": [0], "hi": [1], "integrand": { "family": "polynomial", "terms": [{ "coef": 1, "powers": [1, 2] }] } }""", "input.integrand.terms[0].powers", "'integrand.terms[0].powers'")]
    [InlineData("montecarlo", """{ "samples": 10, "lo": [0], "hi": [1], "integrand": { "family": "polynomial", "terms": [{ "coef": 1, "powers": [33] }] } }""", "input.integrand.terms[0].powers", "'integrand.terms[0].powers'")]
    [InlineData("montecarlo", """{ "samples": 10, "lo": [0], "hi": [1], "integrand": { "family": "polynomial", "terms": [{ "powers": [1] }] } }""", "input.integrand.terms[0].coef", "'integrand.terms[0].coef'")]
    [InlineData("montecarlo", """{ "samples": 10, "lo": [0], "hi": [1], "integrand": { "family": "polynomial", "terms": [{ "coef": 1, "powers": [1] }], "sigma": 1 } }""", "input.integrand.sigma", "'integrand.sigma'")]
    [InlineData("montecarlo", """{ "samples": 10, "lo": [0], "hi": [1], "integrand": { "family": "gaussian", "mean": [0], "sigma": 0 } }""", "input.integrand.sigma", "'integrand.sigma'")]
    [InlineData("montecarlo", """{ "samples": 10, "lo": [0], "hi": [1], "integrand": { "family": "gaussian", "sigma": 1 } }""", "input.integrand.mean", "'integrand.mean'")]
    [InlineData("montecarlo", """{ "samples": 10, "lo": [0], "hi": [1], "integrand": { "family": "ball", "radius": -1 } }""", "input.integrand.radius", "'integrand.radius'")]
    [InlineData("montecarlo", """{ "samples": 10, "lo": [0], "hi": [1], "integrand": { "family": "ball", "radius": 1, "center": [0, 0] } }""", "input.integrand.center", "'integrand.center'")]
    [InlineData("montecarlo", """{ "samples": 10, "lo": [0], "hi": [1], "integrand": { "family": "ball", "radius": 1, "$type": "x" } }""", "input.integrand.$type", "'integrand.$type'")]
    public async Task Bad_input_is_an_error_that_names_the_field(string kind, string input, string field, string mentioned)
    {
        var plan = await KindRunner.PlanAsync(Kinds[kind], input);
        Assert.False(plan.IsValid);
        Assert.True(plan.Errors!.ContainsKey(field), $"errors: {string.Join(", ", plan.Errors.Keys)}");
        Assert.Contains(mentioned, plan.Errors[field][0]);
        Assert.Empty(plan.ShardPayloads);
    }

    [Theory]
    [InlineData("primes")]
    [InlineData("wordcount")]
    [InlineData("noop")]
    [InlineData("sort")]
    [InlineData("hash")]
    [InlineData("stats")]
    [InlineData("matmul")]
    [InlineData("montecarlo-pi")]
    [InlineData("montecarlo")]
    public async Task An_input_that_is_not_an_object_is_an_error_on_input(string kind)
    {
        Assert.True((await KindRunner.PlanAsync(Kinds[kind], "[1, 2]")).Errors!.ContainsKey("input"));
    }

    [Fact]
    public void The_built_in_kinds_are_registered_by_name()
    {
        Assert.Equal(["hash", "matmul", "montecarlo", "montecarlo-pi", "noop", "primes", "sort", "stats", "wordcount"], Kinds.Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("primes")]
    [InlineData("wordcount")]
    [InlineData("noop")]
    [InlineData("sort")]
    [InlineData("hash")]
    [InlineData("stats")]
    [InlineData("matmul")]
    [InlineData("montecarlo-pi")]
    [InlineData("montecarlo")]
    public async Task Each_kind_example_is_a_submit_body_that_runs(string kind)
    {
        var example = Kinds[kind].Example.AsObject();
        Assert.Equal(kind, (string?)example["kind"]);
        var result = await KindRunner.RunAsync(Kinds[kind], example["input"]!.ToJsonString(), (int?)example["shards"]);
        Assert.Equal(JsonValueKind.Object, result.ValueKind);
    }

    [Theory]
    [InlineData("primes", "from")]
    [InlineData("wordcount", "documents")]
    [InlineData("noop", "sleepMs")]
    [InlineData("sort", "numbers")]
    [InlineData("hash", "algorithm")]
    [InlineData("stats", "values")]
    [InlineData("matmul", "a")]
    [InlineData("montecarlo-pi", "samples")]
    [InlineData("montecarlo", "samples")]
    public void Each_kind_schema_describes_its_input_fields(string kind, string field)
    {
        var schema = Kinds[kind].InputSchema.AsObject();
        Assert.Equal("object", (string?)schema["type"]);
        Assert.False((bool)schema["additionalProperties"]!);
        Assert.NotNull(schema["properties"]![field]!["type"]);
        Assert.NotEmpty(Kinds[kind].Description);
    }
}
