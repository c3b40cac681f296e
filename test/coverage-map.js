// Coverage is measured on what dist/ ships (the tests run the built plugin), mapped back to lib/ by source maps.
module.exports = () => ['dist/**/*.js']
