using JobApi.Engine;
using JobApi.Options;
using JobApi.Security;
using Microsoft.Extensions.Configuration;

namespace JobApi.Tests.Security;

public sealed class ListenAddressGuardTests
{
    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    private static AuthOptions Open(bool optOut = false) => new() { AllowAnonymousNonLoopback = optOut };

    [Theory]
    [InlineData("http://localhost:8080")]
    [InlineData("http://127.0.0.1:5000")]
    [InlineData("http://127.1.2.3:5000")]
    [InlineData("http://[::1]:5000")]
    [InlineData("http://localhost:8080;https://127.0.0.1:8443")]
    [InlineData("unix:/tmp/jobapi.sock")]
    public void Open_mode_on_loopback_starts_and_says_so(string urls)
    {
        var notice = ListenAddressGuard.Check(Config(("urls", urls)), Open());
        Assert.Contains("open mode, listening on loopback only", notice);
    }

    [Theory]
    [InlineData("urls", "http://0.0.0.0:8080")]
    [InlineData("urls", "http://*:8080")]
    [InlineData("urls", "http://+:8080")]
    [InlineData("urls", "http://[::]:8080")]
    [InlineData("urls", "http://localhost:8080;http://10.0.0.5:8080")]
    [InlineData("urls", "http://myhost.example:8080")]
    [InlineData("http_ports", "8080")]
    [InlineData("Kestrel:Endpoints:Http:Url", "http://0.0.0.0:8080")]
    public void Open_mode_beyond_loopback_stops_start_up_naming_the_opt_out(string key, string value)
    {
        var e = Assert.Throws<StartupException>(() => ListenAddressGuard.Check(Config((key, value)), Open()));
        Assert.Contains("JobApi:Auth:AllowAnonymousNonLoopback", e.Message);
        Assert.Contains("JobApi:Auth:ApiKeys", e.Message);
    }

    [Fact]
    public void Kestrel_endpoints_win_over_urls_as_in_Kestrel()
    {
        var config = Config(("urls", "http://localhost:8080"), ("Kestrel:Endpoints:Http:Url", "http://0.0.0.0:8080"));
        Assert.Throws<StartupException>(() => ListenAddressGuard.Check(config, Open()));
    }

    [Fact]
    public void Without_any_address_Kestrel_default_is_loopback() =>
        Assert.Equal(["http://localhost:5000"], ListenAddressGuard.ListenAddresses(Config()));

    [Fact]
    public void The_opt_out_flag_allows_any_address_with_a_warning() =>
        Assert.Contains("WARNING", ListenAddressGuard.Check(Config(("urls", "http://0.0.0.0:8080")), Open(optOut: true)));

    [Fact]
    public void With_api_keys_any_address_is_fine()
    {
        var auth = new AuthOptions { ApiKeys = [new ApiKeyOptions { Tenant = "acme", KeyHash = new string('a', 64) }] };
        Assert.Null(ListenAddressGuard.Check(Config(("urls", "http://0.0.0.0:8080")), auth));
    }
}

public sealed class ApiKeyRingTests
{
    [Fact]
    public void A_key_finds_its_tenant_and_anything_else_finds_none()
    {
        var ring = new ApiKeyRing(new AuthOptions
        {
            ApiKeys = [new() { Tenant = "acme", KeyHash = ApiKeyRing.HashOf("k1") }, new() { Tenant = "globex", KeyHash = ApiKeyRing.HashOf("k2").ToUpperInvariant() }],
        });
        Assert.Equal("acme", ring.FindTenant("k1"));
        Assert.Equal("globex", ring.FindTenant("k2"));
        Assert.Null(ring.FindTenant("k3"));
        Assert.Null(ring.FindTenant(""));
        Assert.Null(ring.FindTenant(ApiKeyRing.HashOf("k1")));
    }

    [Fact]
    public void The_hash_is_the_lowercase_hex_sha256_that_sha256sum_prints() =>
        Assert.Equal("2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae", ApiKeyRing.HashOf("foo"));

    [Fact]
    public void A_job_id_carries_its_creation_time()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_780_000_123_456);
        Assert.Equal(at.ToUnixTimeMilliseconds(), JobId.TimestampMs(JobId.New(at)));
    }
}
