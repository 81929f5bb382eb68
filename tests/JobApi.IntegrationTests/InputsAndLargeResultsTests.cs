using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace JobApi.IntegrationTests;

/// <summary>Uploads, kinds that read them, and paged or streamed results, over HTTP against real Redis, checked
/// against GNU coreutils run on the same bytes.</summary>
[Collection(RedisCollection.Name)]
public sealed class InputsAndLargeResultsTests(RedisServerFixture redis) : IAsyncLifetime
{
    private JobApiFactory _factory = null!;
    private HttpClient _client = null!;

    public Task InitializeAsync()
    {
        _factory = new JobApiFactory(redis, new Dictionary<string, string?> { ["JobApi:Limits:MaxInputBytes"] = "2000000" });
        _client = _factory.CreateClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _factory.DisposeAsync();

    private Task<JsonElement> UploadAsync(byte[] data, string mediaType = "application/octet-stream") => _client.UploadInputAsync(data, mediaType);

    /// <summary>Runs a shell pipeline on the data (as a file) with LC_ALL=C and returns its standard output.</summary>
    private static string Shell(string pipeline, byte[] data)
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(file, data);
            var info = new ProcessStartInfo("bash", ["-c", pipeline.Replace("FILE", file)]) { RedirectStandardOutput = true };
            info.Environment["LC_ALL"] = "C";
            using var process = Process.Start(info)!;
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            Assert.Equal(0, process.ExitCode);
            return output;
        }
        finally
        {
            File.Delete(file);
        }
    }

    private async Task<string> RunAndDownloadAsync(object body)
    {
        var job = await _client.SubmitAsync(body);
        var id = job.GetProperty("id").GetString()!;
        Assert.Equal("succeeded", (await _client.WaitForFinalAsync(id)).GetProperty("state").GetString());
        return await _client.GetStringAsync($"/v1/jobs/{id}/result/download");
    }

    [Fact]
    public async Task Uploaded_lines_sorted_by_a_job_equal_gnu_sort_in_the_c_locale()
    {
        var random = new Random(1);
        var words = new[] { "apple", "Zebra", "zebra", "éclair", "", "a b", "~tilde", "0123", "中文", "😀x" };
        var lines = Enumerable.Range(0, 20_000).Select(i => words[random.Next(words.Length)] + random.Next(0, 500)).ToArray();
        var data = Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n");
        var upload = await UploadAsync(data, "text/plain");
        Assert.Equal(data.Length, upload.GetProperty("bytes").GetInt64());
        Assert.Equal(Shell("sha256sum FILE | cut -d' ' -f1", data).Trim(), upload.GetProperty("sha256").GetString());

        var sorted = await RunAndDownloadAsync(new { kind = "sort", input = new { inputRef = upload.GetProperty("id").GetString(), format = "lines" }, shards = 7 });
        Assert.Equal(Shell("sort FILE", data), sorted);
    }

    [Fact]
    public async Task Uploaded_numbers_sorted_by_a_job_equal_sort_n()
    {
        var random = new Random(2);
        var data = Encoding.ASCII.GetBytes(string.Join("\n", Enumerable.Range(0, 30_000).Select(_ => random.NextInt64(-1L << 50, 1L << 50))) + "\n");
        var id = (await UploadAsync(data)).GetProperty("id").GetString();
        var sorted = await RunAndDownloadAsync(new { kind = "sort", input = new { inputRef = id, format = "numbers", order = "desc" }, shards = 5 });
        Assert.Equal(Shell("sort -n -r FILE", data), sorted);
    }

    [Fact]
    public async Task Hash_of_an_upload_equals_sha256sum_and_md5sum()
    {
        var data = new byte[1_500_000];
        new Random(3).NextBytes(data);
        var id = (await UploadAsync(data)).GetProperty("id").GetString();
        foreach (var (algorithm, tool) in new[] { ("sha256", "sha256sum"), ("md5", "md5sum") })
        {
            var job = await _client.SubmitAsync(new { kind = "hash", input = new { inputRef = id, algorithm, chunkBytes = 65536 }, shards = 3 });
            var result = await _client.ResultAsync(job.GetProperty("id").GetString()!);
            Assert.Equal(Shell($"{tool} FILE | cut -d' ' -f1", data).Trim(), result.GetProperty("digest").GetString());
            Assert.Equal(23, result.GetProperty("chunks").GetInt32());
        }
    }

    [Fact]
    public async Task Wordcount_of_an_upload_equals_tr_sort_uniq()
    {
        var random = new Random(4);
        var vocabulary = Enumerable.Range(0, 300).Select(i => (i % 7 == 0 ? "Word" : "w") + i).ToArray();
        var text = string.Concat(Enumerable.Range(0, 40_000).Select(_ => vocabulary[random.Next(vocabulary.Length)] + (random.Next(5) == 0 ? ",\n" : " ")));
        var data = Encoding.ASCII.GetBytes(text);
        var id = (await UploadAsync(data, "text/plain")).GetProperty("id").GetString();
        var job = await _client.SubmitAsync(new { kind = "wordcount", input = new { inputRef = id, top = 1000 }, shards = 6 });
        var result = await _client.ResultAsync(job.GetProperty("id").GetString()!);
        var expected = Shell("tr -cs '[:alnum:]' '\\n' < FILE | tr A-Z a-z | grep -v '^$' | sort | uniq -c | sort -k1,1nr -k2,2", data)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim().Split(' ')).Select(p => $"{p[1]}={p[0]}");
        Assert.Equal(expected, result.GetProperty("top").EnumerateArray().Select(e => $"{e.GetProperty("word").GetString()}={e.GetProperty("count").GetInt64()}"));
    }

    [Fact]
    public async Task A_large_sorted_result_is_paged_and_downloaded_from_the_same_items()
    {
        var job = await _client.SubmitAsync(new { kind = "sort", input = new { generate = new { count = 25_000, seed = 9 } }, shards = 4 });
        var id = job.GetProperty("id").GetString()!;
        await _client.WaitForFinalAsync(id);
        var all = (await _client.GetStringAsync($"/v1/jobs/{id}/result/download")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(25_000, all.Length);
        Assert.Equal(all.Select(long.Parse).Order(), all.Select(long.Parse));

        var first = (await _client.GetJsonAsync($"/v1/jobs/{id}/result")).GetProperty("result");
        Assert.Equal(25_000, first.GetProperty("total").GetInt64());
        Assert.Equal(25_000, first.GetProperty("count").GetInt64());
        Assert.Equal(all[..1000], first.GetProperty("items").EnumerateArray().Select(e => e.GetRawText()));
        var page = (await _client.GetJsonAsync($"/v1/jobs/{id}/result?offset=24900&limit=500")).GetProperty("result");
        Assert.Equal(all[24900..], page.GetProperty("items").EnumerateArray().Select(e => e.GetRawText()));

        using var bad = await _client.GetAsync($"/v1/jobs/{id}/result?limit=100001&offset=-1");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var errors = JsonDocument.Parse(await bad.Content.ReadAsStringAsync()).RootElement.GetProperty("errors");
        Assert.True(errors.TryGetProperty("limit", out _) && errors.TryGetProperty("offset", out _), errors.ToString());
    }

    [Fact]
    public async Task A_result_without_items_downloads_as_its_json()
    {
        var job = await _client.SubmitAsync(new { kind = "montecarlo-pi", input = new { samples = 100_000, seed = 5 }, shards = 3 });
        var result = await _client.ResultAsync(job.GetProperty("id").GetString()!);
        var downloaded = JsonDocument.Parse(await _client.GetStringAsync($"/v1/jobs/{job.GetProperty("id").GetString()}/result/download")).RootElement;
        Assert.Equal(result.GetRawText(), downloaded.GetRawText());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_upload_over_the_limit_is_413_whether_or_not_its_length_is_declared(bool declared)
    {
        var data = new byte[2_000_001];
        using var content = declared ? (HttpContent)new ByteArrayContent(data) : new StreamContent(new MemoryStream(data));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        if (!declared) content.Headers.ContentLength = null;
        using var response = await _client.PostAsync("/v1/inputs", content);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task An_upload_above_the_json_body_limit_but_within_the_input_limit_is_accepted()
    {
        await using var small = new JobApiFactory(redis, new Dictionary<string, string?> { ["JobApi:Limits:MaxBodyBytes"] = "2048" });
        using var content = new ByteArrayContent(new byte[100_000]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await small.CreateClient().PostAsync("/v1/inputs", content);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Theory]
    [InlineData("""{ "kind": "sort", "input": { "inputRef": "01JAAAAAAAAAAAAAAAAAAAAAAA", "format": "lines" } }""", "input.inputRef")]
    [InlineData("""{ "kind": "matmul", "input": { "a": [[1, 2]], "b": [[1, 2]] } }""", "input.b")]
    [InlineData("""{ "kind": "stats", "input": { "values": [] } }""", "input.values")]
    [InlineData("""{ "kind": "hash", "input": { "documents": ["a"], "algorithm": "crc" } }""", "input.algorithm")]
    public async Task Bad_inputs_are_400_naming_the_field(string body, string field)
    {
        using var response = await _client.PostAsync("/v1/jobs", new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(JsonDocument.Parse(text).RootElement.GetProperty("errors").TryGetProperty(field, out _), text);
    }

    [Fact]
    public async Task An_upload_that_is_not_octet_stream_or_text_is_415()
    {
        using var response = await _client.PostAsync("/v1/inputs", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }
}
