-- importPublicKey / verifySignature on fixed keys and signatures (made with openssl), one case
-- per request (Envoy hands out the same key object for every import within one callback).
-- The request header x-case picks the case; the reply header x-result carries
-- "<ok> <message>" or "no key". Used by the in-process tests and the real-Envoy fidelity test.

local function unhex(s)
  return (s:gsub("..", function(c) return string.char(tonumber(c, 16)) end))
end

local RSA_KEY = unhex("30819f300d06092a864886f70d010101050003818d0030818902818100dc1623d8298d8a79bb2525495d136e9f53772fc83942ae306d8951513be839aa69941dc0aa2a3fcd29e08149e0cf75a86d17bbfbb950342683544dc6bcdddb35f91dfbb22dda5e4d30f80044e6916d49e8014c1e3ede6235d3196afb076afef7016d096a68c61f6886334823de9bc31094e8250bbbdffb54e45f1aa48213e86b0203010001")
local RSA_SHA256_SIG = unhex("b5dca8d4d9f69c22038e9068b71cefaef57b56dfea75e9c95d14e6f5a5116f465f07368824b1750a6968015d94927bf6b19dc68577a8a4ee0859f9e385827fd3f1323ca2159190b08e1e731857a991a56ffef9aee555e3d10da513e423b00f65e6435c26699a092c9ec16a1d9feb905307b587546688418623c8f046e91d233a")
local EC_P256_KEY = unhex("3059301306072a8648ce3d020106082a8648ce3d03010703420004c24e48044888ff5b26d5945451f090ac6cb8b4f99238558b1dd06380ca59996acb6055835b1bfb2c7a1de9e5f871a003d2027fb8d93a922fca25918de00a2636")
local EC_SHA384_SIG = unhex("3045022060701a3620a2ffca2cf0e5852d64b01de8a57467230059378a185743a7ce80a4022100dc88729e1d9596fd0313ae5aa207299381ce0597906b265edb319b403b25e7f2")
local ED25519_KEY = unhex("302a300506032b657003210062489a1962e84131ca8168a35c68b2b4986067a08ab2ea550c852ab32153c046")
local TEXT = "signed text"

-- case = {hash, key, signature, text}
local CASES = {
  rsa = {"sha256", RSA_KEY, RSA_SHA256_SIG, TEXT},
  rsa_upper_case_hash = {"SHA256", RSA_KEY, RSA_SHA256_SIG, TEXT},
  rsa_other_hash = {"sha512", RSA_KEY, RSA_SHA256_SIG, TEXT},
  rsa_tampered_text = {"sha256", RSA_KEY, RSA_SHA256_SIG, TEXT .. "!"},
  rsa_md5 = {"md5", RSA_KEY, RSA_SHA256_SIG, TEXT},
  ec = {"sha384", EC_P256_KEY, EC_SHA384_SIG, TEXT},
  ec_tampered_text = {"sha384", EC_P256_KEY, EC_SHA384_SIG, "Signed text"},
  ec_rsa_signature = {"sha384", EC_P256_KEY, RSA_SHA256_SIG, TEXT},
  ed25519 = {"sha256", ED25519_KEY, EC_SHA384_SIG, TEXT},
  not_a_key = {"sha256", "not a key", RSA_SHA256_SIG, TEXT},
}

function envoy_on_request(handle)
  local case = CASES[handle:headers():get("x-case") or ""]
  if case == nil then
    handle:respond({[":status"] = "400"}, "unknown x-case")
    return
  end
  local hash, der, signature, text = case[1], case[2], case[3], case[4]
  local key = handle:importPublicKey(der, #der):get()
  local result
  if key == nil then
    result = "no key"
  else
    local ok, message = handle:verifySignature(hash, key, signature, #signature, text, #text)
    result = tostring(ok) .. " " .. tostring(message)
  end
  handle:respond({[":status"] = "200", ["x-result"] = result}, "")
end
