using System.Text;
using Kassa.Core.Webhooks;

namespace Kassa.Core.Tests.Webhooks;

public class StandardWebhooksTests
{
    // The published Standard Webhooks test vector. The same values appear in the reference
    // libraries' tests in github.com/standard-webhooks/standard-webhooks, for example
    // libraries/csharp/StandardWebhooks.Tests/WebhookTest.cs (verifyWebhookSignWorks) and
    // libraries/python/tests/test_webhooks.py (test_sign_function).
    private const string VectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string VectorId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private const long VectorTimestamp = 1614265330;
    private const string VectorPayload = "{\"test\": 2432232314}";
    private const string VectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    private static readonly byte[] VectorBody = Encoding.UTF8.GetBytes(VectorPayload);
    private static readonly DateTimeOffset VectorTime = DateTimeOffset.FromUnixTimeSeconds(VectorTimestamp);
    private static readonly byte[] KeyA = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
    private static readonly byte[] KeyB = Enumerable.Range(100, 32).Select(i => (byte)i).ToArray();

    private static byte[] VectorKey()
    {
        Assert.True(WebhookSecret.TryParse(VectorSecret, out var key));
        return key;
    }

    private static WebhookVerifyResult VerifyVector(string signatureHeader, DateTimeOffset now, string id = VectorId, string timestamp = "1614265330", string payload = VectorPayload) =>
        StandardWebhooks.Verify(VectorSecret, id, timestamp, signatureHeader, Encoding.UTF8.GetBytes(payload), now);

    [Fact]
    public void Sign_reproduces_the_published_test_vector() =>
        Assert.Equal(VectorSignature, StandardWebhooks.Sign(VectorKey(), VectorId, VectorTimestamp, VectorBody));

    [Fact]
    public void The_published_test_vector_verifies_with_and_without_the_prefix()
    {
        Assert.Equal(WebhookVerifyResult.Valid, VerifyVector(VectorSignature, VectorTime));
        Assert.Equal(WebhookVerifyResult.Valid,
            StandardWebhooks.Verify("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", VectorId, "1614265330", VectorSignature, VectorBody, VectorTime));
        Assert.Equal(WebhookVerifyResult.Valid,
            StandardWebhooks.Verify(VectorKey(), VectorId, "1614265330", VectorSignature, VectorBody, VectorTime));
    }

    [Fact]
    public void The_reference_libraries_invalid_signature_is_refused() =>
        Assert.Equal(WebhookVerifyResult.BadSignature, VerifyVector("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=", VectorTime));

    [Fact]
    public void Any_one_of_several_signatures_may_match_and_other_versions_are_ignored()
    {
        // The decoy entries are the ones the reference libraries' multi-signature tests use.
        var header = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "
            + VectorSignature + " v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
        Assert.Equal(WebhookVerifyResult.Valid, VerifyVector(header, VectorTime));
    }

    [Theory]
    [InlineData("v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")]
    [InlineData("v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")]
    [InlineData("V1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")]
    [InlineData("g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")]
    [InlineData("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE")]
    [InlineData("v1,g0hM9SsE-OTPJTGt_tmIKtSyZlE3uFJELVlNIOLJ1OE=")]
    [InlineData("v1,")]
    public void Entries_that_are_not_a_v1_mac_never_match(string header) =>
        Assert.Equal(WebhookVerifyResult.BadSignature, VerifyVector(header, VectorTime));

    [Fact]
    public void Tampered_body_id_or_timestamp_fails()
    {
        Assert.Equal(WebhookVerifyResult.BadSignature, VerifyVector(VectorSignature, VectorTime, payload: "{\"test\": 2432232315}"));
        Assert.Equal(WebhookVerifyResult.BadSignature, VerifyVector(VectorSignature, VectorTime, payload: "{\"test\":2432232314}"));
        Assert.Equal(WebhookVerifyResult.BadSignature, VerifyVector(VectorSignature, VectorTime, id: "msg_p5jXN8AQM9LWM0D4loKWxJeK"));
        Assert.Equal(WebhookVerifyResult.BadSignature, VerifyVector(VectorSignature, VectorTime, timestamp: "1614265331"));
    }

    [Fact]
    public void Rotation_signs_with_both_keys_current_first_and_either_secret_verifies()
    {
        var header = StandardWebhooks.SignatureHeader([KeyA, KeyB], "evt_1", VectorTimestamp, VectorBody);
        Assert.Equal(
            StandardWebhooks.Sign(KeyA, "evt_1", VectorTimestamp, VectorBody) + " " + StandardWebhooks.Sign(KeyB, "evt_1", VectorTimestamp, VectorBody),
            header);
        Assert.Equal(95, header.Length);
        Assert.Equal(WebhookVerifyResult.Valid, StandardWebhooks.Verify(WebhookSecret.Generate(KeyA), "evt_1", "1614265330", header, VectorBody, VectorTime));
        Assert.Equal(WebhookVerifyResult.Valid, StandardWebhooks.Verify(WebhookSecret.Generate(KeyB), "evt_1", "1614265330", header, VectorBody, VectorTime));
        Assert.Equal(WebhookVerifyResult.BadSignature, StandardWebhooks.Verify(VectorSecret, "evt_1", "1614265330", header, VectorBody, VectorTime));
    }

    [Fact]
    public void A_single_key_header_is_one_signature() =>
        Assert.Equal(VectorSignature, StandardWebhooks.SignatureHeader([VectorKey()], VectorId, VectorTimestamp, VectorBody));

    [Theory]
    [InlineData(0, WebhookVerifyResult.Valid)]
    [InlineData(300, WebhookVerifyResult.Valid)]
    [InlineData(301, WebhookVerifyResult.TimestampTooOld)]
    [InlineData(-300, WebhookVerifyResult.Valid)]
    [InlineData(-301, WebhookVerifyResult.TimestampInFuture)]
    [InlineData(86_400, WebhookVerifyResult.TimestampTooOld)]
    public void The_default_tolerance_is_five_minutes_inclusive(int secondsSinceSigning, WebhookVerifyResult expected) =>
        Assert.Equal(expected, VerifyVector(VectorSignature, VectorTime.AddSeconds(secondsSinceSigning)));

    [Fact]
    public void Now_is_compared_in_whole_seconds_because_the_header_has_whole_seconds()
    {
        Assert.Equal(WebhookVerifyResult.Valid, VerifyVector(VectorSignature, VectorTime.AddSeconds(300).AddMilliseconds(999)));
        Assert.Equal(WebhookVerifyResult.TimestampTooOld, VerifyVector(VectorSignature, VectorTime.AddSeconds(301)));
    }

    [Fact]
    public void The_timestamp_is_checked_before_the_signature() =>
        Assert.Equal(WebhookVerifyResult.TimestampTooOld, VerifyVector("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", VectorTime.AddHours(1)));

    [Fact]
    public void A_custom_tolerance_is_honoured_and_bounded()
    {
        Assert.Equal(WebhookVerifyResult.Valid,
            StandardWebhooks.Verify(VectorSecret, VectorId, "1614265330", VectorSignature, VectorBody, VectorTime.AddSeconds(60), TimeSpan.FromSeconds(60)));
        Assert.Equal(WebhookVerifyResult.TimestampTooOld,
            StandardWebhooks.Verify(VectorSecret, VectorId, "1614265330", VectorSignature, VectorBody, VectorTime.AddSeconds(61), TimeSpan.FromSeconds(60)));
        Assert.Equal(WebhookVerifyResult.Valid,
            StandardWebhooks.Verify(VectorSecret, VectorId, "1614265330", VectorSignature, VectorBody, VectorTime, TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            StandardWebhooks.Verify(VectorSecret, VectorId, "1614265330", VectorSignature, VectorBody, VectorTime, TimeSpan.FromSeconds(-1)));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            StandardWebhooks.Verify(VectorSecret, VectorId, "1614265330", VectorSignature, VectorBody, VectorTime, TimeSpan.FromDays(1) + TimeSpan.FromTicks(1)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("msg p5j")]
    [InlineData("msg.p5j")]
    [InlineData("msg_é")]
    [InlineData("msg_\n")]
    public void Malformed_ids_are_refused(string id) =>
        Assert.Equal(WebhookVerifyResult.Malformed, VerifyVector(VectorSignature, VectorTime, id: id));

    [Fact]
    public void Ids_are_bounded_at_256_characters()
    {
        Assert.Equal(WebhookVerifyResult.BadSignature, VerifyVector(VectorSignature, VectorTime, id: new string('a', 256)));
        Assert.Equal(WebhookVerifyResult.Malformed, VerifyVector(VectorSignature, VectorTime, id: new string('a', 257)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("-1614265330")]
    [InlineData("+1614265330")]
    [InlineData(" 1614265330")]
    [InlineData("1614265330 ")]
    [InlineData("01614265330")]
    [InlineData("1614265330.0")]
    [InlineData("1614265330000")]
    [InlineData("253402300800")]
    public void Malformed_timestamps_are_refused(string timestamp) =>
        Assert.Equal(WebhookVerifyResult.Malformed, VerifyVector(VectorSignature, VectorTime, timestamp: timestamp));

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("   ")]
    [InlineData("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\tv1,x")]
    [InlineData("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\r\n")]
    [InlineData("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,é")]
    public void Malformed_signature_headers_are_refused(string header) =>
        Assert.Equal(WebhookVerifyResult.Malformed, VerifyVector(header, VectorTime));

    [Fact]
    public void Extra_spaces_between_signatures_are_tolerated() =>
        Assert.Equal(WebhookVerifyResult.Valid, VerifyVector("  v1,bm9wZQ==   " + VectorSignature + " ", VectorTime));

    [Fact]
    public void The_signature_header_is_bounded_at_4_KiB()
    {
        var atLimit = VectorSignature + new string(' ', StandardWebhooks.SignatureHeaderLengthMax - VectorSignature.Length);
        Assert.Equal(4096, atLimit.Length);
        Assert.Equal(WebhookVerifyResult.Valid, VerifyVector(atLimit, VectorTime));
        Assert.Equal(WebhookVerifyResult.Malformed, VerifyVector(atLimit + " ", VectorTime));
    }

    [Fact]
    public void At_most_ten_signatures_are_read()
    {
        var nine = string.Join(' ', Enumerable.Repeat("v1a,bm9wZQ==", 9));
        Assert.Equal(WebhookVerifyResult.Valid, VerifyVector(nine + " " + VectorSignature, VectorTime));
        Assert.Equal(WebhookVerifyResult.Malformed, VerifyVector(nine + " v1a,bm9wZQ== " + VectorSignature, VectorTime));
    }

    [Fact]
    public void Bodies_are_bounded_at_4_MiB()
    {
        var atLimit = new byte[StandardWebhooks.PayloadBytesMax];
        var signature = StandardWebhooks.Sign(KeyA, "evt_1", VectorTimestamp, atLimit);
        Assert.Equal(WebhookVerifyResult.Valid, StandardWebhooks.Verify(KeyA, "evt_1", "1614265330", signature, atLimit, VectorTime));
        var over = new byte[StandardWebhooks.PayloadBytesMax + 1];
        Assert.Equal(WebhookVerifyResult.Malformed, StandardWebhooks.Verify(KeyA, "evt_1", "1614265330", signature, over, VectorTime));
        Assert.Throws<ArgumentException>(() => StandardWebhooks.Sign(KeyA, "evt_1", VectorTimestamp, over));
    }

    [Fact]
    public void Verify_refuses_a_bad_secret_as_a_configuration_error()
    {
        Assert.Throws<ArgumentException>(() => StandardWebhooks.Verify("whsec_nope", VectorId, "1614265330", VectorSignature, VectorBody, VectorTime));
        Assert.Throws<ArgumentException>(() => StandardWebhooks.Verify(new byte[23], VectorId, "1614265330", VectorSignature, VectorBody, VectorTime));
    }

    [Fact]
    public void Sign_refuses_arguments_outside_the_format()
    {
        Assert.Throws<ArgumentException>(() => StandardWebhooks.Sign(new byte[23], "evt_1", VectorTimestamp, VectorBody));
        Assert.Throws<ArgumentException>(() => StandardWebhooks.Sign(new byte[65], "evt_1", VectorTimestamp, VectorBody));
        Assert.Throws<ArgumentException>(() => StandardWebhooks.Sign(KeyA, "", VectorTimestamp, VectorBody));
        Assert.Throws<ArgumentException>(() => StandardWebhooks.Sign(KeyA, "evt.1", VectorTimestamp, VectorBody));
        Assert.Throws<ArgumentOutOfRangeException>(() => StandardWebhooks.Sign(KeyA, "evt_1", -1, VectorBody));
        Assert.Throws<ArgumentOutOfRangeException>(() => StandardWebhooks.Sign(KeyA, "evt_1", StandardWebhooks.TimestampSecondsMax + 1, VectorBody));
    }

    [Fact]
    public void SignatureHeader_needs_one_to_ten_keys()
    {
        Assert.Throws<ArgumentException>(() => StandardWebhooks.SignatureHeader([], "evt_1", VectorTimestamp, VectorBody));
        var ten = StandardWebhooks.SignatureHeader(Enumerable.Repeat(KeyA, 10), "evt_1", VectorTimestamp, VectorBody);
        Assert.Equal(10 * 47 + 9, ten.Length);
        Assert.Throws<ArgumentException>(() => StandardWebhooks.SignatureHeader(Enumerable.Repeat(KeyA, 11), "evt_1", VectorTimestamp, VectorBody));
    }

    [Fact]
    public void Generate_formats_24_to_64_random_bytes()
    {
        Assert.Equal("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX", WebhookSecret.Generate(Enumerable.Range(0, 24).Select(i => (byte)i).ToArray()));
        Assert.Equal("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==",
            WebhookSecret.Generate(Enumerable.Range(0, 64).Select(i => (byte)i).ToArray()));
        Assert.Throws<ArgumentException>(() => WebhookSecret.Generate(new byte[23]));
        Assert.Throws<ArgumentException>(() => WebhookSecret.Generate(new byte[65]));
    }

    [Fact]
    public void A_generated_secret_parses_back_to_its_bytes()
    {
        Assert.True(WebhookSecret.TryParse(WebhookSecret.Generate(KeyA), out var key));
        Assert.Equal(KeyA, key);
    }

    [Fact]
    public void TryParse_decodes_the_vector_secret_to_24_bytes()
    {
        Assert.True(WebhookSecret.TryParse(VectorSecret, out var withPrefix));
        Assert.True(WebhookSecret.TryParse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", out var withoutPrefix));
        Assert.Equal(24, withPrefix.Length);
        Assert.Equal(withPrefix, withoutPrefix);
        Assert.Equal("31F290F6BF06298AAB4F08D43C3F082CF648A362DA2DA4B0", Convert.ToHexString(withPrefix));
    }

    [Theory]
    [InlineData("")]
    [InlineData("whsec_")]
    [InlineData("whsec_!!!!")]
    [InlineData("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS")]
    [InlineData("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw=")]
    [InlineData("whsec_MfKQ 9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    [InlineData("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n")]
    [InlineData("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa-_")]
    [InlineData("WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    [InlineData("whsec_AAAAAAAAAAAAAAAAAAAAAA==")]
    public void TryParse_refuses_anything_but_strict_base64_of_24_to_64_bytes(string secret)
    {
        Assert.False(WebhookSecret.TryParse(secret, out var key));
        Assert.Empty(key);
    }

    [Fact]
    public void TryParse_bounds_the_key_at_64_bytes()
    {
        Assert.True(WebhookSecret.TryParse(Convert.ToBase64String(new byte[64]), out var key));
        Assert.Equal(64, key.Length);
        Assert.False(WebhookSecret.TryParse(Convert.ToBase64String(new byte[65]), out _));
        Assert.False(WebhookSecret.TryParse(Convert.ToBase64String(new byte[23]), out _));
    }
}
