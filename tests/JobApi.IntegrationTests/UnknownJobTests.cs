namespace JobApi.IntegrationTests;

/// <summary>An id that names no job is a 404 problem on every job endpoint, well-formed or not.</summary>
[Collection(RedisCollection.Name)]
public sealed class UnknownJobTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    public static TheoryData<string, string> Requests()
    {
        var data = new TheoryData<string, string>();
        string[] ids =
        [
            "01ARZ3NDEKTSV4RRFFQ69G5FAV", // well-formed, never created
            "not-a-job-id",
            "01arz3ndektsv4rrffq69g5fav", // lower case
            "%7Bjobs%7D",                 // "{jobs}": the spelling of an index key's hash tag
            new string('Z', 300),
        ];
        foreach (var id in ids)
        {
            data.Add("GET", $"/v1/jobs/{id}");
            data.Add("GET", $"/v1/jobs/{id}/result");
            data.Add("GET", $"/v1/jobs/{id}/result?waitSeconds=1");
            data.Add("GET", $"/v1/jobs/{id}/shards");
            data.Add("POST", $"/v1/jobs/{id}/cancel");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task An_unknown_job_is_a_404_problem(string method, string path)
    {
        var before = await SnapshotAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        using var response = await Client.SendAsync(request);
        var problem = await response.AssertProblemAsync(404);
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()), $"404 without a detail: {problem}");
        await AssertNothingCreatedSinceAsync(before);
    }
}
